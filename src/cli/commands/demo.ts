/**
 * `netbeacon demo`: builds a small network of namespaces, runs real agents
 * in it, and shows what they find (fabrics, peers, the hints behind each
 * grouping, an MTU mismatch, a VLAN that does not reach a rack). See
 * src/demo/ (plan.ts draws the network; report.ts documents the JSON).
 */
import type { Command } from 'commander';
import { removeDemoNetworks } from '../../demo/network';
import { renderDemo } from '../../demo/report';
import { runDemo } from '../../demo/run';
import { chooseEngine, engineRequest } from '../../engine/select';
import { NetbeaconError, UsageError } from '../../errors';
import { DEFAULT_FLEET_PORT } from '../../fleet/listen';
import type { DemoDocument } from '../../demo/report';
import { netnsUnavailable } from '../../lab/netns';
import { addEngineOption, numberArg } from '../options';
import { writeOut } from '../output';

interface DemoOptions {
  json?: boolean;
  keep?: boolean;
  remove?: boolean;
  engine?: string;
  timeout: number;
  fleet?: boolean;
  fleetPort: number;
}

export const ROOT_MESSAGE =
  "the demo builds network namespaces, veth pairs and bridges and runs agents inside them, which needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW). Nothing it creates touches the host's interfaces, and all of it is removed afterwards. Run: sudo netbeacon demo";

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('build a throw-away network of namespaces, run agents in it and show what they find: fabrics, peers, why, an MTU mismatch, a VLAN gap')
    .option('--json', 'print everything as one JSON document (see README, "demo")')
    .option('--keep', 'leave the network and agents running and print commands to explore them')
    .option(
      '--remove',
      'remove the demo networks left by --keep (namespaces, agents, temporary files) and exit; a demo still running in another terminal is left alone',
    )
    .option('--timeout <seconds>', 'how long to wait for the fabrics to appear', numberArg('--timeout', 5, 600), 60)
    .option('--fleet', 'also run a fleet service the agents report to, print its map URL (127.0.0.1) and stay up until Ctrl-C')
    .option(
      '--fleet-port <port>',
      'the map’s port on 127.0.0.1 with --fleet (another free one if taken)',
      numberArg('--fleet-port', 0, 65535, true),
      DEFAULT_FLEET_PORT,
    )
    .addHelpText(
      'after',
      [
        '',
        'Needs root. Creates only network namespaces named nb-demo-*, with veth pairs and plain bridges inside them; never',
        "sends on the host's interfaces. Everything is removed on exit, on Ctrl-C and on failure (unless --keep).",
        'Exit codes: 0 the agents found the fabrics the wiring implies, 1 they did not in time, 2 not root or usage error.',
        '',
        'With --fleet the agents also report to a fleet service over a Unix socket (it crosses namespaces with no',
        'packet on any interface); its map is served on 127.0.0.1 only. Open the printed URL in a browser on this machine.',
        '',
        'Examples:',
        '  sudo netbeacon demo',
        '  sudo netbeacon demo --fleet',
      ].join('\n'),
    );
  addEngineOption(cmd).action(async (opts: DemoOptions) => {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new NetbeaconError('E_DEMO_ROOT', ROOT_MESSAGE, 2);
    const why = netnsUnavailable();
    if (why) throw new NetbeaconError('E_DEMO_NETNS', `the demo needs network namespaces, and they do not work here: ${why}`, 2);
    if (opts.remove) {
      const r = removeDemoNetworks();
      process.stderr.write(`netbeacon: removed ${r.namespaces.length} demo namespace(s), ${r.processes} process(es), ${r.dirs.length} temporary dir(s)\n`);
      for (const [pid, held] of r.running)
        process.stderr.write(
          `netbeacon: left alone ${held.namespaces.length} namespace(s) and ${held.dirs.length} dir(s) of the demo still running as pid ${pid}: Ctrl-C in its terminal (or kill -INT ${pid}) removes them\n`,
        );
      return;
    }
    if (opts.fleet && opts.keep) throw new UsageError('E_DEMO_FLEET_KEEP', '--fleet stays up until Ctrl-C by itself; it cannot be combined with --keep');
    const engine = chooseEngine(engineRequest(opts.engine), { capture: true });
    const tty = process.stderr.isTTY === true;
    let pending = false;
    const progress = (line: string, final = false) => {
      // On a terminal the beaconing counter rewrites one line; elsewhere one line per update.
      if (tty) {
        process.stderr.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
        pending = !final;
      } else process.stderr.write(`netbeacon: ${line}\n`);
    };
    const render = (doc: DemoDocument): string => (opts.json ? JSON.stringify(doc, null, 2) + '\n' : renderDemo(doc));
    const fleet = opts.fleet
      ? {
          port: opts.fleetPort,
          ready: async (doc: DemoDocument): Promise<void> => {
            if (pending) process.stderr.write('\n');
            pending = false;
            await writeOut(render(doc));
            process.stderr.write(
              `\nThe fleet map: ${doc.fleet!.url}\n(open it in a browser on this machine; the agents report to ${doc.fleet!.agents})\nEverything stays up until Ctrl-C.\n`,
            );
          },
        }
      : undefined;
    const doc = await runDemo({ engine, timeoutSeconds: opts.timeout, keep: opts.keep === true, progress, ...(fleet ? { fleet } : {}) });
    if (pending) process.stderr.write('\n');
    process.exitCode = doc.wait.complete ? 0 : 1;
    if (fleet) return;
    let text = render(doc);
    if (doc.kept && !opts.json) {
      text += `\nThe network and agents are still up. Explore:\n${doc.kept.commands.map((c) => `  ${c}\n`).join('')}Remove it all:\n  ${doc.kept.remove}\n`;
    }
    await writeOut(text);
    process.exitCode = doc.wait.complete ? 0 : 1;
  });
}
