/**
 * `netbeacon probe --once`: the agent, in this process, for a while. It
 * beacons, listens and answers (AgentCore, the sender and the capture, as
 * `netbeacon agent` runs them) for the timeout, then prints what it
 * learned as one JSON document and exits. No control socket, no journal,
 * no child left running: nothing outlives the command.
 *
 * The document (--json; stable, `version` says which shape):
 *   { "version": 1,
 *     "engine": {"name": "native", "capture": "native", "why": "..."},
 *     "duration_seconds": 10,
 *     "interfaces": [ {"name", "mac", "mtu", "type", "vid"?, "addresses": ["10.0.0.1/24", ...]} ],
 *     "hints": [ MAAS-style hints, sorted, as `netbeacon hints` prints them ],
 *     "fabrics": [ as `netbeacon topology --json` prints them ] }
 */
import type { Command } from 'commander';
import { Agent } from '../../agent/daemon';
import { renderTopology } from '../../topology/render';
import { buildTopology } from '../../topology/fabrics';
import { formatHintsJson } from '../../topology/hints';
import { openLiveCapture } from '../../capture/live-open';
import { chooseEngine, chooseSealEngine, engineRequest } from '../../engine/select';
import { createSealer } from '../../engine/sealer';
import { createVerifier } from '../../engine/verifier';
import { UsageError } from '../../errors';
import { resolveInterfaces, sleep } from '../../probe/session';
import { interfaceSummary } from '../../topology/interfaces';
import { addEngineOption, addSecretOption, numberArg } from '../options';
import { loadKey } from '../../secret/load-key';
import { writeOut } from '../output';
import { collect } from './probe-options';

interface ProbeOptions {
  once?: boolean;
  interface: string[];
  exclude: string[];
  timeout: number;
  json?: boolean;
  secretFile?: string;
  engine?: string;
}

/** The shape's version: bump it when a key changes meaning or goes away. */
export const PROBE_DOCUMENT_VERSION = 1;

export function register(program: Command): void {
  const cmd = program
    .command('probe')
    .description('run the agent once, in this process: beacon, listen and answer for the timeout, then print interfaces, hints and fabrics')
    .option('--once', 'required: run once and exit (for a long-running agent use `netbeacon agent`)')
    .option(
      '-i, --interface <name|glob>',
      'monitor this interface (repeatable; globs). Default: every interface that is up, not loopback, with a MAC',
      collect,
      [],
    )
    .option('-x, --exclude <name|glob>', 'leave this interface out (repeatable)', collect, [])
    .option('--timeout <seconds>', 'how long to run', numberArg('--timeout', 1, 3600), 10)
    .option('--json', 'print one JSON document {version, engine, duration_seconds, interfaces, hints, fabrics} (see README, "probe")')
    .addHelpText(
      'after',
      [
        '',
        'SIGINT or SIGTERM ends the run early; what was learned so far is still printed.',
        'The run solicits at once and 3 s later, so 5 s or more hears every peer that answers.',
        '',
        'Example:',
        '  sudo netbeacon probe --once -i eth0 -i eth1 --timeout 10 --json',
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: ProbeOptions) => {
    if (!opts.once) throw new UsageError('E_USAGE', 'probe runs only once: give --once (for a long-running agent use `netbeacon agent`)');
    // Named interfaces must exist now; the agent would silently wait for them.
    if (opts.interface.length) await resolveInterfaces(opts.interface);
    const { key, objects } = loadKey(opts.secretFile);
    const choice = chooseEngine(engineRequest(opts.engine), { capture: true });
    const capture = openLiveCapture({ engine: choice.engine, key, verifier: createVerifier('js', key) });
    const agent = new Agent({
      keys: objects,
      capture,
      engine: choice.engine,
      engineWhy: choice.why,
      sealer: createSealer(chooseSealEngine(engineRequest(opts.engine)).engine),
      selection: { include: opts.interface, exclude: opts.exclude },
      log: (level, msg) => {
        if (level === 'error' || level === 'warn') process.stderr.write(`netbeacon: ${level}: ${msg}\n`);
      },
    });
    const started = Date.now();
    let early!: () => void;
    const interrupted = new Promise<void>((r) => (early = r));
    process.once('SIGINT', early);
    process.once('SIGTERM', early);
    try {
      await agent.start();
      // The agent adds its interfaces asynchronously: name what was asked for.
      process.stderr.write(`netbeacon: probing on ${opts.interface.join(', ') || 'every interface'} for ${opts.timeout} s (${capture.engine} capture)\n`);
      await Promise.race([sleep(opts.timeout * 1000), interrupted]);
    } finally {
      process.off('SIGINT', early);
      process.off('SIGTERM', early);
      await agent.stop();
    }
    const hints = agent.hints();
    const topology = buildTopology(hints);
    const doc = {
      version: PROBE_DOCUMENT_VERSION,
      engine: { name: choice.engine, capture: capture.engine, why: choice.why },
      duration_seconds: Math.round((Date.now() - started) / 100) / 10,
      interfaces: agent.interfaces.map(interfaceSummary),
      hints,
      fabrics: topology.fabrics,
    };
    if (opts.json) await writeOut(JSON.stringify(doc, null, 2) + '\n');
    else await writeOut(`${formatHintsJson(hints)}\n${renderTopology(topology)}`);
  });
}
