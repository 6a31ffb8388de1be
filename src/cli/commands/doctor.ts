import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { loadBinding } from '../../engine/binding';
import { CAP_NET_ADMIN, CAP_NET_RAW, effectiveCapabilities, hasCapability } from '../../engine/capabilities';
import { chooseEngine, chooseSealEngine, engineRequest, type EngineChoice } from '../../engine/select';
import { NetbeaconError } from '../../errors';
import { deriveKey, keyFingerprint } from '../../protocol/key';
import { loadSecret } from '../../secret/secret';
import { listSysInterfaces, type SysInterface } from '../../net/sysfs';
import { chooseInterfaceSource, type InterfaceSourceChoice } from '../../net/interface-source';
import { VERSION } from '../../version';
import { addEngineOption, addSecretOption } from '../options';
import { DEFAULT_SOCKET, request } from '../../agent/control';
import { sodium, sodiumReady } from '../../protocol/sodium';
import { deriveV3Key } from '../../protocol/v3';

export interface DoctorReport {
  version: string;
  platform: { os: string; arch: string; kernel: string | null; node: string };
  engine: { capture: EngineChoice | { error: string }; decode: EngineChoice | { error: string }; seal: EngineChoice | { error: string }; addon: string };
  /** Where the agent learns the interfaces: rtnetlink events, or the `ip` poll (net/interface-source.ts). */
  discovery: InterfaceSourceChoice | { error: string };
  capabilities: { uid: number | null; net_raw: boolean; net_admin: boolean; effective: string | null };
  interfaces: SysInterface[];
  secret: { found: boolean; path?: string; from?: string; fingerprint?: string; warning?: string; error?: string };
  tcpdump: { present: boolean; path?: string; version?: string };
  /** Beacon formats (docs/beacon-v3.md): what this host can speak, and what a running agent does, per peer. */
  formats?: FormatsReport;
  limitations: string[];
  can_run: boolean;
  problems: string[];
}

export interface FormatsReport {
  /** v2 always; v3 once libsodium and (for the native engine) the addon's v3 code are there. */
  available: string[];
  v3: { js: string; native: boolean; key_id?: string };
  /** The agent on the control socket, when one answers: formats it sends and accepts, and each peer's. */
  agent?:
    | { socket: string; sending: string[]; accepting: string[]; peers: Array<{ name: string; mac: string; interface: string; formats: string[] }> }
    | { socket: string; error: string };
}

export function register(program: Command): void {
  const cmd = program
    .command('doctor')
    .description(
      'explain what netbeacon will do on this host: engine and why, how interfaces are discovered, privileges, interfaces, secret, tcpdump, beacon formats',
    )
    .option('--json', 'print the report as JSON')
    .option('--socket <path>', 'ask the agent on this control socket which beacon formats it and its peers use', DEFAULT_SOCKET)
    .addHelpText(
      'after',
      '\nExits 0 when the agent can run here, 1 when it cannot (the report says why).\n\nExample:\n  sudo netbeacon doctor --secret-file /var/lib/maas/secret',
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: { json?: boolean; secretFile?: string; engine?: string; socket: string }) => {
    const report = doctor(opts);
    report.formats = await formatsReport(opts.secretFile, opts.socket);
    process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderDoctor(report));
    process.exitCode = report.can_run ? 0 : 1;
  });
}

function attempt<T>(f: () => T): T | { error: string } {
  try {
    return f();
  } catch (err) {
    if (err instanceof NetbeaconError) return { error: err.message };
    throw err;
  }
}

export function doctor(opts: { secretFile?: string; engine?: string }): DoctorReport {
  const capture = attempt(() => chooseEngine(engineRequest(opts.engine), { capture: true }));
  const decode = attempt(() => chooseEngine(engineRequest(opts.engine), { capture: false }));
  const seal = attempt(() => chooseSealEngine(engineRequest(opts.engine)));
  const discovery = attempt(() => chooseInterfaceSource());
  const binding = loadBinding();
  const caps = effectiveCapabilities();
  const secret = attempt(() => loadSecret(opts.secretFile));
  const tcpdump = findTcpdump();
  const problems: string[] = [];
  let secretReport: DoctorReport['secret'];
  if ('error' in secret) {
    secretReport = { found: false, error: secret.error };
    problems.push(secret.error);
  } else {
    secretReport = { found: true, path: secret.path, from: secret.from, fingerprint: keyFingerprint(deriveKey(secret.bytes)) };
    if (secret.warning) secretReport.warning = secret.warning;
  }
  const netRaw = hasCapability(CAP_NET_RAW, caps);
  if ('error' in capture) problems.push(capture.error);
  else if (capture.engine === 'js' && !netRaw) problems.push('no CAP_NET_RAW: only the UDP-socket fallback can run (no VLAN IDs, no unconfigured interfaces)');
  if ('error' in discovery) problems.push(discovery.error);
  const limitations: string[] = [];
  if (!('error' in capture) && capture.engine === 'js') {
    limitations.push(
      tcpdump.present && netRaw
        ? 'JS engine: capture through tcpdump (one process per interface; MAAS-equivalent speed)'
        : 'JS engine without tcpdump or CAP_NET_RAW: UDP sockets joined to the groups see no VLAN IDs and nothing on interfaces without an address',
    );
  }
  const interfaces = listSysInterfaces();
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' });
  return {
    version: VERSION,
    platform: { os: process.platform, arch: process.arch, kernel: kernel.status === 0 ? kernel.stdout.trim() : null, node: process.version },
    engine: {
      capture,
      decode,
      seal,
      addon: binding.ok ? `loaded from ${binding.path}${binding.via ? ` (named by $${binding.via})` : ''}` : `${binding.why}: ${binding.detail}`,
    },
    discovery,
    capabilities: {
      uid: typeof process.getuid === 'function' ? process.getuid() : null,
      net_raw: netRaw,
      net_admin: hasCapability(CAP_NET_ADMIN, caps),
      effective: caps === undefined ? null : '0x' + caps.toString(16),
    },
    interfaces,
    secret: secretReport,
    tcpdump,
    limitations,
    can_run: secretReport.found && !('error' in capture) && !('error' in discovery),
    problems,
  };
}

/** What `doctor` says about beacon formats; an agent that is not running is not a problem. */
export async function formatsReport(secretFile: string | undefined, socket: string): Promise<FormatsReport> {
  await sodiumReady();
  const binding = loadBinding();
  const native = binding.ok && typeof binding.binding.xchacha === 'object';
  const secret = attempt(() => loadSecret(secretFile));
  const report: FormatsReport = {
    available: ['v2', 'v3'],
    v3: { js: `libsodium ${sodium().sodium_version_string()} via libsodium-wrappers`, native },
  };
  if (!('error' in secret)) report.v3.key_id = deriveV3Key(deriveKey(secret.bytes)).idHex;
  try {
    const s = (await request(socket, 'status', {}, 1000)) as {
      formats?: { sending: string[]; accepting: string[] };
      peers?: Array<{ name: string; mac: string; interface: string; formats?: string[] }>;
    };
    report.agent = {
      socket,
      sending: s.formats?.sending ?? ['v2'],
      accepting: s.formats?.accepting ?? ['v2'],
      peers: (s.peers ?? []).map((p) => ({ name: p.name, mac: p.mac, interface: p.interface, formats: p.formats ?? ['v2'] })),
    };
  } catch (err) {
    report.agent = { socket, error: (err as Error).message };
  }
  return report;
}

function findTcpdump(): DoctorReport['tcpdump'] {
  for (const path of ['/usr/bin/tcpdump', '/usr/sbin/tcpdump', '/sbin/tcpdump', '/bin/tcpdump']) {
    const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { present: true, path, version: r.stdout.split('\n')[0]!.trim() };
  }
  return { present: false };
}

export function renderDoctor(r: DoctorReport): string {
  const line = (k: string, v: string) => `${k.padEnd(12)} ${v}\n`;
  const eng = (c: EngineChoice | { error: string }) => ('error' in c ? `cannot run: ${c.error}` : `${c.engine} — ${c.why}`);
  let out = '';
  out += line('netbeacon', r.version);
  out += line('platform', `${r.platform.os} ${r.platform.arch}, kernel ${r.platform.kernel ?? '?'}, node ${r.platform.node}`);
  out += line('capture', eng(r.engine.capture));
  out += line('decode', eng(r.engine.decode));
  out += line('seal', eng(r.engine.seal));
  out += line('addon', r.engine.addon);
  out += line('discovery', 'error' in r.discovery ? `cannot run: ${r.discovery.error}` : `${r.discovery.source} — ${r.discovery.why}`);
  out += line(
    'privileges',
    `uid ${r.capabilities.uid ?? '?'}, CAP_NET_RAW ${r.capabilities.net_raw ? 'yes' : 'no'}, CAP_NET_ADMIN ${r.capabilities.net_admin ? 'yes' : 'no'}`,
  );
  out += line(
    'secret',
    r.secret.found ? `found: ${r.secret.path} (from ${r.secret.from}), key fingerprint ${r.secret.fingerprint}` : `NOT FOUND: ${r.secret.error}`,
  );
  if (r.secret.warning) out += line('', `warning: ${r.secret.warning}`);
  out += line('tcpdump', r.tcpdump.present ? `${r.tcpdump.path} (${r.tcpdump.version})` : 'not installed');
  out += line('interfaces', r.interfaces.length ? '' : 'none seen');
  for (const i of r.interfaces) {
    const skip = i.loopback ? ' (loopback: skipped)' : !i.up ? ' (down: skipped)' : '';
    out += `  ${i.name.padEnd(16)} ${(i.mac ?? '-').padEnd(18)} mtu ${String(i.mtu ?? '?').padEnd(6)} ${i.operstate}${skip}\n`;
  }
  if (r.formats) {
    const f = r.formats;
    out += line(
      'formats',
      `v2 (MAAS) and v3 (${f.v3.js}; native ${f.v3.native ? 'yes' : 'no: the addon has no v3 code, rebuild it'})${f.v3.key_id ? `, v3 key id ${f.v3.key_id}` : ''}`,
    );
    const a = f.agent;
    if (a && 'error' in a) out += line('', `no agent on ${a.socket} to ask (${a.error})`);
    else if (a) {
      out += line('', `agent on ${a.socket}: sending ${a.sending.join(', ')}, accepting ${a.accepting.join(', ')}`);
      for (const p of a.peers) out += `  ${p.name.padEnd(16)} ${p.mac.padEnd(18)} on ${p.interface.padEnd(10)} ${p.formats.join(', ')}\n`;
    }
  }
  for (const l of r.limitations) out += line('note', l);
  for (const p of r.problems) out += line('problem', p);
  out += line('verdict', r.can_run ? 'the agent can run here' : 'the agent cannot run here (see problems)');
  return out;
}
