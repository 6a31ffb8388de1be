/**
 * Runs a live capture (any engine) inside a test namespace and reports on
 * stdout, one JSON object a line: {event:'ready'} once every interface is
 * capturing, {event:'record', ...} per received datagram, {event:'gone'},
 * {event:'error'}, and on the stdin command `stats` {event:'stats'}; on
 * `close` (or stdin end) it closes the capture, prints {event:'closed'} and
 * exits. Usage: live-receiver.ts ENGINE KEYHEX IFNAME...
 */
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import type { LiveCapture, LiveEngineName } from '../../src/capture/live';
import { NativeLiveCapture } from '../../src/capture/live-native';
import { TcpdumpLiveCapture } from '../../src/capture/live-tcpdump';
import { UdpLiveCapture } from '../../src/capture/live-udp';

const [engine, keyHex, ...ifnames] = process.argv.slice(2) as [LiveEngineName, string, ...string[]];
const keyBytes = Buffer.from(keyHex, 'hex');
const key = { signing: new Uint8Array(keyBytes.subarray(0, 16)), encryption: new Uint8Array(keyBytes.subarray(16, 32)) };
const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');

function open(): LiveCapture {
  if (engine === 'native') return new NativeLiveCapture(key, process.env.NB_RING ? (JSON.parse(process.env.NB_RING) as object) : {});
  if (engine === 'tcpdump') return new TcpdumpLiveCapture(new JsBatchVerifier(key));
  return new UdpLiveCapture(new JsBatchVerifier(key));
}

async function main(): Promise<void> {
  const cap = open();
  const slowMs = Number(process.env.NB_SLOW_MS ?? 0);
  let batches = 0;
  cap.on('beacons', (records: import('../../src/capture/live').LiveRecord[]) => {
    batches++;
    if (slowMs > 0) {
      // A JS thread too busy to keep up: the capture must push back, not buffer.
      const until = Date.now() + slowMs;
      while (Date.now() < until) {
        /* busy */
      }
      say({ event: 'batch', n: batches, count: records.length, rss: process.memoryUsage().rss });
      return;
    }
    for (const r of records) {
      const v = r.verdict;
      say({
        event: 'record',
        interface: r.interface,
        time: r.time,
        vid: r.frame.vid,
        outerVid: r.frame.outerVid,
        sourceMac: r.frame.sourceMac,
        sourceIp: r.frame.sourceIp,
        destinationIp: r.frame.destinationIp,
        sourcePort: r.frame.sourcePort,
        ok: v.ok,
        reason: v.ok ? undefined : v.reason,
        type: v.ok ? v.type : undefined,
        ulid: v.ok && v.payload ? v.payload.ulid : undefined,
      });
    }
  });
  cap.on('interface-gone', (g: unknown) => say({ event: 'gone', ...(g as object) }));
  cap.on('error', (e: Error) => say({ event: 'error', message: e.message }));
  for (const ifn of ifnames) await cap.add(ifn);
  say({ event: 'ready' });
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    say({ event: 'stats', stats: cap.stats() });
    await cap.close();
    say({ event: 'closed' });
  };
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (cmd === 'stats') say({ event: 'stats', stats: cap.stats() });
      if (cmd === 'close') void close();
    }
  });
  process.stdin.on('end', () => void close());
}

main().catch((err: unknown) => {
  say({ event: 'fatal', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
