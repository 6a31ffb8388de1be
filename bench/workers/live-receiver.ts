/**
 * A netbeacon live receiver for the bench: one LiveCapture (native rings,
 * or tcpdump + the JS engine) on one interface, counting what it verifies.
 * Prints one JSON object a line: {"event":"ready"} once capturing, then
 * {"event":"stats", beacons, rejected, packets, drops, skipped} every
 * --interval ms and once more on stdin end / "close", after which it exits.
 * Usage: live-receiver.js --engine native|tcpdump --if IFNAME --key HEX --interval MS
 */
import type { LiveCapture, LiveRecord } from '../../src/capture/live';
import { NativeLiveCapture } from '../../src/capture/live-native';
import { TcpdumpLiveCapture } from '../../src/capture/live-tcpdump';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { keyFromHex } from '../lib/inputs';
import { flag, numberFlag, workerMain } from '../lib/worker-args';

const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');

workerMain(async () => {
  const engine = flag('--engine');
  const ifname = flag('--if');
  const key = keyFromHex(flag('--key'));
  const interval = numberFlag('--interval');
  let cap: LiveCapture;
  if (engine === 'native') cap = new NativeLiveCapture(key);
  else if (engine === 'tcpdump') cap = new TcpdumpLiveCapture(new JsBatchVerifier(key));
  else throw new Error(`unknown engine ${engine}`);
  let beacons = 0;
  let rejected = 0;
  const reasons: Record<string, number> = {};
  cap.on('beacons', (records: LiveRecord[]) => {
    for (const r of records) {
      if (r.verdict.ok) beacons++;
      else {
        rejected++;
        reasons[r.verdict.reason] = (reasons[r.verdict.reason] ?? 0) + 1;
      }
    }
  });
  cap.on('error', (err: Error) => say({ event: 'error', message: err.message }));
  cap.on('interface-gone', (g: unknown) => say({ event: 'gone', ...(g as object) }));
  await cap.add(ifname);
  const stats = (): Record<string, unknown> => {
    const s = cap.stats()[ifname];
    return { event: 'stats', beacons, rejected, reasons, packets: s?.packets ?? 0, drops: s?.drops ?? 0, freezes: s?.freezes ?? 0, skipped: s?.skipped ?? 0 };
  };
  say({ event: 'ready' });
  const timer = setInterval(() => say(stats()), interval);
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    const last = stats();
    await cap.close();
    say(last);
    say({ event: 'closed' });
    process.exit(0);
  };
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('close')) void close();
  });
  process.stdin.on('end', () => void close());
});
