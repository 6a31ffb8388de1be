/**
 * Sends solicitations signed with chosen secrets and tells which secret
 * signed each reply (key-rotation.test.ts). Usage: keyed-sender.ts JSON
 *   {to, secretFiles: [..], send: [index into secretFiles, ...], waitMs}
 * From port 5240 it sends one solicitation per entry of `send` (each its
 * own ULID) by unicast to `to`:5240, then listens `waitMs` for replies
 * (advertisements) and prints one JSON line:
 *   {sent, replies: [index of the secret whose key verifies it, or -1]}
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { encodeBeacon } from '../../src/protocol/beacon';
import { decodeBeacon } from '../../src/engine/decode';
import { deriveKey } from '../../src/protocol/key';
import { keyObjects } from '../../src/protocol/fernet';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { parseSecret } from '../../src/secret/secret';

interface Args {
  to: string;
  secretFiles: string[];
  send: number[];
  waitMs: number;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as Args;
  const keys = a.secretFiles.map((f) => deriveKey(parseSecret(readFileSync(f, 'utf8'), f)));
  const verifiers = keys.map((k) => new JsBatchVerifier(k));
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => s.bind({ port: 5240 }, () => r()));
  const replies: number[] = [];
  s.on('message', (msg) => {
    if (msg.length < 2 || msg[1] !== 2) return; // advertisements only
    replies.push(verifiers.findIndex((v) => decodeBeacon(v, msg, Date.now() / 1000).ok));
  });
  let sent = 0;
  for (const i of a.send) {
    const { bytes } = encodeBeacon(
      keyObjects(keys[i]!),
      'solicitation',
      { remote: { name: 's0', mac_address: '02:00:00:00:00:01', type: 'physical' } },
      { nowMs: Date.now() },
    );
    await new Promise<void>((r, j) => s.send(bytes, 5240, a.to, (err) => (err ? j(err) : r())));
    sent++;
  }
  await new Promise((r) => setTimeout(r, a.waitMs));
  process.stdout.write(JSON.stringify({ sent, replies }) + '\n');
  s.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`keyed-sender: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
