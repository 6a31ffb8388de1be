/** Commands that ask a running agent over its control socket: status, hints. */
import type { Command } from 'commander';
import { DEFAULT_SOCKET, request, subscribe } from '../../agent/control';
import { formatHintsJson, type TopologyHint } from '../../topology/hints';
import type { FleetLinkStatus } from '../../agent/fleet-reporter';

export function register(program: Command): void {
  program
    .command('status')
    .description('ask the running agent for its interfaces, engine, counters, queue sizes and ring drops')
    .option('--socket <path>', "the agent's control socket", DEFAULT_SOCKET)
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExample:\n  sudo netbeacon status --json')
    .action(async (opts: { socket: string; json?: boolean }) => {
      const s = (await request(opts.socket, 'status')) as StatusAnswer;
      process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : renderStatus(s));
    });
  program
    .command('hints')
    .description("print the topology hints the running agent has derived, as a JSON array with MAAS's keys")
    .option('--socket <path>', "the agent's control socket", DEFAULT_SOCKET)
    .addHelpText('after', '\nExample:\n  sudo netbeacon hints')
    .action(async (opts: { socket: string }) => {
      const hints = (await request(opts.socket, 'hints')) as TopologyHint[];
      process.stdout.write(formatHintsJson(hints) + '\n');
    });
}

interface StatusAnswer {
  version: string;
  /** seal: the engine sealing v2 beacons (absent from agents before the batch sealer). */
  engine: { name: string; capture: string; seal?: string; why: string };
  uptime_seconds: number;
  interfaces: Array<{
    name: string;
    mac: string | null;
    mtu: number;
    vid?: number;
    addresses: string[];
    ring: { packets: number; drops: number } | null;
    received: Record<string, number>;
    sent: Record<string, number>;
  }>;
  counters: { send_failures: number; replays: number; replays_by_format?: Record<string, number> };
  /** Beacon formats (docs/beacon-v3.md); absent from agents before v3. */
  formats?: { sending: string[]; accepting: string[] };
  peers?: Array<{ interface: string; vid?: number; mac: string; name: string; formats?: string[]; key_id?: string }>;
  correlation: { hints: number; tx: { size: number }; rx: { size: number } };
  ring_drops: number;
  fleet?: FleetLinkStatus;
}

export function renderStatus(s: StatusAnswer): string {
  const lines = [
    `netbeacon ${s.version}, up ${s.uptime_seconds} s, engine ${s.engine.name} (capture: ${s.engine.capture}) — ${s.engine.why}`,
    `hints ${s.correlation.hints}, tx queue ${s.correlation.tx.size}, rx queue ${s.correlation.rx.size}, replays ${s.counters.replays}, send failures ${s.counters.send_failures}, ring drops ${s.ring_drops}`,
    ...(s.fleet ? [fleetLine(s.fleet)] : []),
  ];
  if (s.formats) {
    const byFormat = Object.entries(s.counters.replays_by_format ?? {})
      .map(([f, n]) => `${f} ${n}`)
      .join(', ');
    lines.push(`formats: sending ${s.formats.sending.join(', ')}; accepting ${s.formats.accepting.join(', ')}${byFormat ? `; replays ${byFormat}` : ''}`);
  }
  lines.push('');
  for (const i of s.interfaces) {
    const rx =
      Object.entries(i.received)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'none';
    const tx =
      Object.entries(i.sent)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'none';
    lines.push(`${i.name}${i.vid !== undefined ? ` (vid ${i.vid})` : ''}  ${i.mac ?? '-'}  mtu ${i.mtu}  ${i.addresses.join(' ') || 'no address'}`);
    lines.push(`  received: ${rx}`);
    lines.push(`  sent:     ${tx}`);
    if (i.ring) lines.push(`  ring:     packets=${i.ring.packets} drops=${i.ring.drops}`);
  }
  const peers = s.peers ?? [];
  if (peers.length > 0) lines.push('', 'peers:');
  for (const p of peers) {
    const where = `${p.interface}${p.vid !== undefined ? ` (vid ${p.vid})` : ''}`;
    const keyId = p.key_id ? `  v3 key id ${p.key_id}` : '';
    lines.push(`  ${p.name}  ${p.mac}  heard on ${where}${p.formats ? `  formats ${p.formats.join(', ')}` : ''}${keyId}`);
  }
  return lines.join('\n') + '\n';
}

/** `fleet http://…: as rack1, last report 3 s ago (seq N), failures 0, backlog 0`. */
export function fleetLine(f: FleetLinkStatus): string {
  const ago = (t: number | null): string => (t === null ? 'never' : `${Math.max(0, Math.round(Date.now() / 1000 - t))} s ago`);
  const error = f.last_error ? `; last error: ${f.last_error}` : '';
  return `fleet ${f.url} as ${f.name}: last success ${ago(f.last_success)} (${f.reports_sent} reports, seq ${f.seq}), failures ${f.failures} (${f.failures_total} in all), backlog ${f.backlog}${error}`;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('stream what the running agent sees as JSON lines: interfaces added and removed, peers seen, hints added, replays, send failures')
    .option('--socket <path>', "the agent's control socket", DEFAULT_SOCKET)
    .addHelpText(
      'after',
      '\nOne JSON object per line, each with "event" and "time" keys, until the agent stops or Ctrl-C.\n\nExample:\n  sudo netbeacon watch | jq .',
    )
    .action(async (opts: { socket: string }) => {
      const sub = subscribe(opts.socket, 'watch', (e) => process.stdout.write(JSON.stringify(e) + '\n'));
      process.once('SIGINT', () => sub.close());
      await sub.done;
    });
}
