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
import { NetbeaconError } from '../../errors';
import { netnsUnavailable } from '../../lab/netns';
import { addEngineOption, numberArg } from '../options';
import { writeOut } from '../output';

interface DemoOptions {
  json?: boolean;
  keep?: boolean;
  remove?: boolean;
  engine?: string;
  timeout: number;
}

export const ROOT_MESSAGE =
  "the demo builds network namespaces, veth pairs and bridges and runs agents inside them, which needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW). Nothing it creates touches the host's interfaces, and all of it is removed afterwards. Run: sudo netbeacon demo";

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('build a throw-away network of namespaces, run agents in it and show what they find: fabrics, peers, why, an MTU mismatch, a VLAN gap')
    .option('--json', 'print everything as one JSON document (see README, "demo")')
    .option('--keep', 'leave the network and agents running and print commands to explore them')
    .option('--remove', 'remove every demo network left by --keep (namespaces, agents, temporary files) and exit')
    .option('--timeout <seconds>', 'how long to wait for the fabrics to appear', numberArg('--timeout', 5, 600), 60)
    .addHelpText(
      'after',
      [
        '',
        'Needs root. Creates only network namespaces named nb-demo-*, with veth pairs and plain bridges inside them; never',
        "sends on the host's interfaces. Everything is removed on exit, on Ctrl-C and on failure (unless --keep).",
        'Exit codes: 0 the agents found the fabrics the wiring implies, 1 they did not in time, 2 not root or usage error.',
        '',
        'Example:',
        '  sudo netbeacon demo',
      ].join('\n'),
    );
  addEngineOption(cmd).action(async (opts: DemoOptions) => {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new NetbeaconError('E_DEMO_ROOT', ROOT_MESSAGE, 2);
    const why = netnsUnavailable();
    if (why) throw new NetbeaconError('E_DEMO_NETNS', `the demo needs network namespaces, and they do not work here: ${why}`, 2);
    if (opts.remove) {
      const r = removeDemoNetworks();
      process.stderr.write(`netbeacon: removed ${r.namespaces.length} demo namespace(s), ${r.processes} process(es), ${r.dirs.length} temporary dir(s)\n`);
      return;
    }
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
    const doc = await runDemo({ engine, timeoutSeconds: opts.timeout, keep: opts.keep === true, progress });
    if (pending) process.stderr.write('\n');
    let text = opts.json ? JSON.stringify(doc, null, 2) + '\n' : renderDemo(doc);
    if (doc.kept && !opts.json) {
      text += `\nThe network and agents are still up. Explore:\n${doc.kept.commands.map((c) => `  ${c}\n`).join('')}Remove it all:\n  ${doc.kept.remove}\n`;
    }
    await writeOut(text);
    process.exitCode = doc.wait.complete ? 0 : 1;
  });
}
