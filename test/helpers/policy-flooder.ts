/**
 * Floods one agent with valid solicitations from inside a test namespace
 * (policy-flood.test.ts). Usage: policy-flooder.ts JSON with
 *   {to, secretFile, rate, seconds, distinct}
 * Pre-encodes `distinct` solicitations (each its own ULID) with the corpus
 * secret, then sends them round-robin by unicast UDP from port 5240 to
 * `to`:5240 at `rate` per second for `seconds`, in 10 ms slices. Replies
 * (advertisements) come back to port 5240 and are counted. Prints one JSON
 * line as the first datagram goes ({t: 0, sent: 0, replies: 0}), one per
 * second ({t, sent, replies}) and a final {done, sent, replies}.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { encodeBeacon } from '../../src/protocol/beacon';
import { deriveKey } from '../../src/protocol/key';
import { keyObjects } from '../../src/protocol/fernet';
import { parseSecret } from '../../src/secret/secret';

interface Args {
  to: string;
  secretFile: string;
  rate: number;
  seconds: number;
  distinct: number;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as Args;
  const keys = keyObjects(deriveKey(parseSecret(readFileSync(a.secretFile, 'utf8'), a.secretFile)));
  const now = Date.now();
  const frames: Buffer[] = [];
  for (let i = 0; i < a.distinct; i++) {
    frames.push(
      encodeBeacon(keys, 'solicitation', { remote: { name: 'f0', mac_address: '02:00:00:00:00:01', type: 'physical' } }, { nowMs: now + (i % 1000) }).bytes,
    );
  }
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => s.bind({ port: 5240 }, () => r()));
  let replies = 0;
  s.on('message', (msg) => {
    if (msg.length >= 2 && msg[1] === 2) replies++;
  });
  s.on('error', () => undefined); // ENOBUFS under the flood: that datagram is lost, the flood goes on
  let sent = 0;
  let next = 0;
  const start = Date.now();
  const perSlice = Math.round(a.rate / 100);
  let lastReport = start;
  // The first second of a flood is when an agent is slowest (nothing compiled yet): say when it begins.
  process.stdout.write(JSON.stringify({ t: 0, sent: 0, replies: 0 }) + '\n');
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Date.now() - start;
      if (elapsed >= a.seconds * 1000) {
        clearInterval(tick);
        resolve();
        return;
      }
      // Catch up to the rate by the clock, so timer jitter does not slow the flood.
      const due = Math.floor((elapsed / 1000) * a.rate) + perSlice;
      while (sent < due) {
        s.send(frames[next]!, 5240, a.to);
        next = (next + 1) % frames.length;
        sent++;
      }
      if (Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        process.stdout.write(JSON.stringify({ t: (lastReport - start) / 1000, sent, replies }) + '\n');
      }
    }, 10);
  });
  // Late replies to the last solicitations.
  await new Promise((r) => setTimeout(r, 500));
  s.close();
  process.stdout.write(JSON.stringify({ done: true, sent, replies }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
  process.exitCode = 1;
});
