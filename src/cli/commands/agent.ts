import type { Command } from 'commander';
import { Agent } from '../../agent/daemon';
import { DEFAULT_SOCKET } from '../../agent/control';
import { openLiveCapture } from '../../capture/live-open';
import { chooseEngine, engineRequest } from '../../engine/select';
import { createVerifier } from '../../engine/verifier';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../log';
import { addEngineOption, addSecretOption, loadKey, numberArg } from '../options';
import { InvalidArgumentError } from 'commander';

interface AgentCliOptions {
  interface: string[];
  exclude: string[];
  secretFile?: string;
  engine?: string;
  socket: string;
  journal?: string;
  logLevel: LogLevel;
  port: number;
  pollMs: number;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run the beaconing agent: beacon on every interface, capture below IP, correlate, serve status on a Unix socket')
    .option('-i, --interface <name|glob>', 'monitor this interface (repeatable; globs like "eth*"). Default: every interface that is up, not loopback', collect, [])
    .option('-x, --exclude <name|glob>', 'leave this interface out (repeatable; e.g. USB/BMC NICs, ib*, tun*)', collect, [])
    .option('--socket <path>', 'control socket (mode 0660)', DEFAULT_SOCKET)
    .option('--journal <file>', 'append every beacon sent and received as JSON lines (replay it with `netbeacon replay`)')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, (v: string) => {
      if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      return v;
    }, 'info')
    .option('--port <port>', 'UDP port (MAAS uses 5240; change only for experiments)', numberArg('--port', 1, 65535, true), 5240)
    .option('--poll-ms <ms>', 'how often to look for interface changes', numberArg('--poll-ms', 200, 60_000, true), 2000)
    .addHelpText(
      'after',
      [
        '',
        'Stops cleanly on SIGTERM or SIGINT: rings closed, socket removed, journal flushed.',
        '',
        'Examples:',
        '  sudo netbeacon agent --secret-file /var/lib/maas/secret',
        '  sudo netbeacon agent -i "eth*" -x eth9 --journal /var/log/netbeacon.jsonl',
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: AgentCliOptions) => {
    const log = createLogger(opts.logLevel);
    const { key, objects } = loadKey(opts.secretFile);
    const choice = chooseEngine(engineRequest(opts.engine), { capture: true });
    const capture = openLiveCapture({ engine: choice.engine, key, verifier: createVerifier('js', key) });
    const agent = new Agent({
      keys: objects,
      capture,
      engine: choice.engine,
      engineWhy: choice.why,
      selection: { include: opts.interface, exclude: opts.exclude },
      socketPath: opts.socket,
      journalPath: opts.journal,
      port: opts.port,
      pollMs: opts.pollMs,
      log: (level, msg, fields) => log[level]({ ...fields }, msg),
    });
    log.info({ engine: choice.engine, capture: capture.engine, why: choice.why, socket: opts.socket }, 'netbeacon agent starting');
    agent.on('event', (e: { event: string }) => log.info(e, e.event));
    await agent.start();
    log.info({ interfaces: agent.interfaces.map((i) => i.name) }, 'netbeacon agent running');
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping');
        void agent.stop().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    log.info('netbeacon agent stopped');
    log.flush();
  });
}
