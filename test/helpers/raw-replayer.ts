/**
 * Sends raw frames on cue, from inside a test namespace: prints "ready"
 * once the addon is loaded, then for each stdin line "HEX COUNT" sends that
 * frame COUNT times on IFNAME and prints "sent N". Started ahead of time,
 * so that the sending happens when the test says, not when a TypeScript
 * loader is done compiling. Usage: raw-replayer.ts IFNAME
 */
import { createInterface } from 'node:readline';
import { openRawSender } from '../../src/capture/raw-send';

const ifname = process.argv[2]!;
const raw = openRawSender();
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const [hex, count] = line.trim().split(/\s+/);
  if (!hex) return;
  const frame = Buffer.from(hex, 'hex');
  const n = Number(count ?? 1);
  for (let i = 0; i < n; i++) raw.send(ifname, frame);
  process.stdout.write(`sent ${n}\n`);
});
