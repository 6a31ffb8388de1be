import { InvalidArgumentError, type Command } from 'commander';
import { chownSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import { Agent } from '../../agent/daemon';
import { agentMetrics } from '../../agent/metrics';
import { serveMetrics } from '../../metrics/http';
import { runSupervised } from '../../agent/exit';
import { dropPrivileges, resolveAccount, sdNotify, watchdogIntervalMs } from '../../agent/system';
import { openLiveCapture } from '../../capture/live-open';
import { applyFlags, loadConfigFile, type AgentConfig, type ConfigFlags } from '../../config/config';
import { chooseEngine, chooseSealEngine, engineRequest } from '../../engine/select';
import { createSealer } from '../../engine/sealer';
import { chooseInterfaceSource } from '../../net/interface-source';
import { createVerifier } from '../../engine/verifier';
import { createLogger, LOG_LEVELS, type Logger } from '../../log';
import { locateSecret } from '../../secret/secret';
import { addEngineOption, addSecretOption, numberArg } from '../options';
import { loadKey } from '../../secret/load-key';
import { vidListArg } from './probe-options';
import { loadPolicy, PolicyDriver, type LoadedPolicy } from '../../agent/policy-driver';
import { MultiKeyVerifier } from '../../engine/multikey-verifier';
import { keyObjects } from '../../protocol/fernet';
import { NativeLiveCapture } from '../../capture/live-native';
import { Keyring, keyringEntry } from '../../protocol/keyring';
import { prepareFleetLink, startFleetReporter } from './agent-fleet';
import { sodiumReady } from '../../protocol/sodium';
import { keyringWithV3, v3KeyIds } from '../../protocol/v3';

interface AgentCliOptions extends ConfigFlags {
  config?: string;
  checkConfig?: boolean;
  port: number;
  ignoreVids?: number[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run the beaconing agent: beacon on every interface, capture below IP, correlate, serve status on a Unix socket')
    .option('-c, --config <file>', 'YAML config (default /etc/netbeacon/netbeacon.yaml when it exists); flags override it')
    .option('--check-config', 'validate the config (file and flags) and exit: 0 when valid, 2 with the key path when not')
    .option('-i, --interface <name|glob>', 'monitor this interface (repeatable; globs like "eth*"). Default: every interface that is up, not loopback', collect)
    .option('-x, --exclude <name|glob>', 'leave this interface out (repeatable; e.g. USB/BMC NICs, ib*, tun*)', collect)
    .option('--socket <path>', 'control socket, mode 0660 (default /run/netbeacon/netbeacon.sock)')
    .option('--journal <file>', 'append every beacon sent and received as JSON lines (replay it with `netbeacon replay`)')
    .option('--metrics <[host:]port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (a bare port listens on 127.0.0.1)')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (default info)`, (v: string) => {
      if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      return v;
    })
    .option('--user <name|uid>', 'after opening the capture, drop root and run as this user, keeping only CAP_NET_RAW')
    .option('--role <role>', 'advertise this role in every beacon (region, rack or node); MAAS peers ignore it', (v: string) => {
      if (!['region', 'rack', 'node'].includes(v)) throw new InvalidArgumentError('--role must be region, rack or node');
      return v;
    })
    .option('--maas-url <url>', 'advertise this MAAS URL in every beacon, so new racks can find the region')
    .option(
      '--ignore-vids <list>',
      'test/ops knob: do not answer solicitations received with these VIDs ("10,20,30-40"), so a VLAN looks unreachable to `netbeacon vlans`',
      vidListArg('--ignore-vids'),
    )
    .option('--port <port>', 'UDP port (MAAS uses 5240; change only for experiments)', numberArg('--port', 1, 65535, true), 5240)
    .option(
      '--poll-ms <ms>',
      'how often the fallback polls `ip` for interface changes (only when rtnetlink events cannot be had; see doctor)',
      numberArg('--poll-ms', 200, 60_000, true),
    )
    .option('--fleet <url>', 'report to the fleet service at this URL (http://HOST:PORT or unix:/path): at start, on change, every 30 s')
    .option('--name <name>', 'the name this host reports to the fleet under (default the hostname; namespaces share one, so give each its own)')
    .option('--formats <list>', 'beacon formats to send: v2 (MAAS, the default), v3 or v2,v3 (config beacons.formats); v2 is always accepted, v3 when listed')
    .addHelpText(
      'after',
      [
        '',
        'Signals: SIGTERM/SIGINT stop cleanly (rings closed, socket removed, journal flushed);',
        'SIGHUP re-reads the config: interfaces, log level and periods change, queues and hints are kept.',
        'Under systemd with Type=notify it reports READY=1 once capturing, and pings the watchdog when WatchdogSec= is set.',
        '',
        'Examples:',
        '  sudo netbeacon agent --secret-file /var/lib/maas/secret',
        '  sudo netbeacon agent -i "eth*" -x eth9 --journal /var/log/netbeacon.jsonl --metrics 9240',
        '  netbeacon agent --config /etc/netbeacon/netbeacon.yaml --check-config',
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: AgentCliOptions) => {
    const config = resolveConfig(opts);
    if (opts.checkConfig) {
      process.stdout.write(`config ${config.source ?? '(defaults: no file)'} is valid\n`);
      try {
        const s = locateSecret(config.secretFile);
        process.stdout.write(`secret: ${s.path} (from ${s.from})\n`);
      } catch (err) {
        process.stdout.write(`warning: ${(err as Error).message}\n`);
      }
      const policy = loadPolicy(config.policy);
      for (const k of policy.keyring?.states(Date.now() / 1000) ?? [])
        process.stdout.write(`key ${k.fingerprint}: ${k.role}${k.accepting ? '' : ' (window closed: no longer accepted)'}\n`);
      if (policy.expected) process.stdout.write(`expected topology: ${config.policy.expected} (${policy.expected.fabrics.length} fabrics)\n`);
      return;
    }
    const log = createLogger(config.logLevel);
    await runSupervised(log, () => runAgent(config, opts, log));
  });
}

function resolveConfig(opts: AgentCliOptions): AgentConfig {
  return applyFlags(loadConfigFile(opts.config), opts);
}

async function runAgent(config: AgentConfig, opts: AgentCliOptions, log: Logger): Promise<void> {
  // Made here, not by the control server, so that a drop to --user can hand it over.
  const madeSocketDir = mkdirSync(dirname(config.socket), { recursive: true, mode: 0o750 });
  const { policy, keyring } = await readKeysAndPolicy(config);
  const fleetLink = prepareFleetLink(config);
  const choice = chooseEngine(engineRequest(config.engine), { capture: true });
  // Sealing needs only the addon, not CAP_NET_RAW: as decode, not as capture.
  const seal = chooseSealEngine(engineRequest(config.engine));
  const discovery = chooseInterfaceSource(undefined, undefined, config.periods.interfacePollMs);
  const key = keyring.signingKey().key;
  const multiKey = new MultiKeyVerifier(keyring, (k) => createVerifier('js', k));
  const capture = openLiveCapture({
    engine: choice.engine,
    key,
    keyring,
    verifier: multiKey,
    native: { blockSize: config.ring.blockSize, blockCount: config.ring.blockCount, retireMs: config.ring.retireMs },
  });
  const agent = new Agent({
    keys: keyObjects(key),
    keyIds: v3KeyIds(keyring),
    formats: config.beacons.formats,
    capture,
    engine: choice.engine,
    engineWhy: choice.why,
    sealer: createSealer(seal.engine),
    selection: config.interfaces,
    socketPath: config.socket,
    journalPath: config.journal ?? undefined,
    port: opts.port,
    pollMs: config.periods.interfacePollMs,
    interfaceSource: discovery,
    extraPayload: config.advertise,
    ignoreVids: opts.ignoreVids,
    policy: new PolicyDriver({
      policy,
      nowMs: Date.now(),
      keyMatches: () => (capture instanceof NativeLiveCapture ? capture.keyMatches() : multiKey.stats().matched),
    }),
    core: {
      txCapacity: config.queues.tx,
      rxCapacity: config.queues.rx,
      maxHints: config.queues.hints,
      maxHintSupport: config.queues.support,
      ttlMs: config.queues.ttlMs,
      solicitationPeriodMs: config.periods.solicitationMs,
      solicitationRetryMs: config.periods.retryMs,
      advertisementIntervalMs: config.periods.advertisementMs,
    },
    log: (level, msg, fields) => log[level]({ ...fields }, msg),
  });
  log.info(
    {
      engine: choice.engine,
      capture: capture.engine,
      seal: seal.engine,
      why: choice.why,
      discovery: discovery.source,
      socket: config.socket,
      config: config.source,
      formats: config.beacons.formats,
    },
    'netbeacon agent starting',
  );
  if (policy.keyring)
    log.info({ signing: policy.keyring.signingKey().fingerprint, keys: policy.keyring.states(Date.now() / 1000) }, 'secret rotation: keys loaded');
  // Per-packet events (replays) only at debug: a flood must not become a log flood.
  agent.on('event', (e: { event: string }) => (e.event === 'replay' ? log.debug(e, e.event) : log.info(e, e.event)));
  let metrics: Server | undefined;
  try {
    await agent.start();
    if (config.metrics) {
      metrics = await serveMetrics(agentMetrics(agent), config.metrics);
      log.info({ listen: config.metrics }, 'metrics served at /metrics');
    }
    if (config.user) {
      const account = resolveAccount(config.user);
      // What the agent must still remove or append to after the drop becomes the user's.
      for (const f of [config.socket, config.journal, madeSocketDir ? dirname(config.socket) : null]) if (f) chownSync(f, account.uid, account.gid);
      dropPrivileges(account);
      log.info({ user: account.name, uid: account.uid, gid: account.gid }, 'dropped root; keeping only CAP_NET_RAW');
    }
  } catch (err) {
    // A half-started agent holds sockets and timers: without this the process would hang, never READY.
    metrics?.close();
    await agent.stop();
    throw err;
  }
  const reporter = fleetLink && startFleetReporter(agent, fleetLink, (level, msg, fields) => log[level]({ ...fields }, msg));
  log.info({ interfaces: agent.interfaces.map((i) => i.name) }, 'netbeacon agent running');
  const watchdog = config.notify ? startSupervision(log) : undefined;
  const signal = await new Promise<string>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      if (config.notify) sdNotify('STOPPING=1');
      if (watchdog) clearInterval(watchdog);
      metrics?.close();
      void Promise.resolve(reporter?.stop())
        .then(() => agent.stop())
        .then(() => resolve(signal));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const setCaptureKeys = (k: Keyring): void => (capture instanceof NativeLiveCapture ? capture.setKeys(k) : multiKey.setKeyring(k));
    process.on('SIGHUP', () => void reload(agent, opts, log, setCaptureKeys));
  });
  log.info({ signal }, `netbeacon agent stopped (${signal})`);
  log.flush();
}

/**
 * The keys the capture verifies with: policy.keys when configured (the
 * current key signs; previous keys are accepted in their window), else
 * the one key of the MAAS secret. Both engines take a keyring: the native
 * worker tries the previous keys itself (native/keyring.h), the JS
 * engines through a MultiKeyVerifier; either says which key matched.
 */
function captureKeyring(config: AgentConfig, policy: LoadedPolicy): Keyring {
  return policy.keyring ?? new Keyring([keyringEntry(loadKey(config.secretFile).key, 'current')]);
}

/** Reading the files and checking them, before anything running changes; throws what is wrong. */
async function readKeysAndPolicy(config: AgentConfig): Promise<{ policy: LoadedPolicy; keyring: Keyring }> {
  const policy = loadPolicy(config.policy);
  const keyring = captureKeyring(config, policy);
  // With v3 in use every key gets its v3 key: libsodium is made ready here, once, before any packet.
  if (!config.beacons.formats.includes('v3')) return { policy, keyring };
  await sodiumReady();
  return { policy, keyring: keyringWithV3(keyring) };
}

function startSupervision(log: Logger): NodeJS.Timeout | undefined {
  const ready = sdNotify('READY=1\nSTATUS=capturing');
  if (ready.sent) log.info('told systemd READY=1');
  else log.debug({ why: ready.why }, 'no readiness notification');
  const every = watchdogIntervalMs();
  if (every === undefined || !ready.sent) return undefined;
  const t = setInterval(() => sdNotify('WATCHDOG=1'), every);
  t.unref();
  return t;
}

/**
 * SIGHUP: re-read the file, lay the same flags over it, apply what can
 * change live: interfaces, periods, log level, the secret (or policy.keys)
 * and the policy. Every file is read and checked before anything changes,
 * so a bad edit leaves the agent as it was.
 */
async function reload(agent: Agent, opts: AgentCliOptions, log: Logger, setCaptureKeys: (k: Keyring) => void): Promise<void> {
  sdNotify('RELOADING=1');
  try {
    const next = resolveConfig(opts);
    const { policy, keyring } = await readKeysAndPolicy(next);
    setCaptureKeys(keyring);
    log.level = next.logLevel;
    await agent.reload({
      selection: next.interfaces,
      periods: {
        solicitationPeriodMs: next.periods.solicitationMs,
        solicitationRetryMs: next.periods.retryMs,
        advertisementIntervalMs: next.periods.advertisementMs,
      },
      keys: keyObjects(keyring.signingKey().key),
      keyIds: v3KeyIds(keyring),
      formats: next.beacons.formats,
      policy,
    });
    log.info(
      {
        config: next.source,
        interfaces: agent.interfaces.map((i) => i.name),
        log_level: next.logLevel,
        signing: keyring.signingKey().fingerprint,
        keys: keyring.states(Date.now() / 1000),
      },
      'config reloaded',
    );
  } catch (err) {
    // A bad edit must not take the agent down: keep running on the old config.
    log.error({ err: (err as Error).message }, 'config reload failed; keeping the running config');
  } finally {
    sdNotify('READY=1');
  }
}
