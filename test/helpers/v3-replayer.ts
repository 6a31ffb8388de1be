/**
 * Captures one beacon format v3 datagram off the wire and replays its exact
 * bytes (v3-replay.test.ts): the attacker issue 18 worries about, who can
 * resend a captured beacon inside its 2-minute window but cannot change a
 * byte of it. Usage: v3-replayer.ts JSON with {group, local, from, to, copies}.
 * Joins `group` (224.0.0.118) on the interface with address `local`, waits
 * for the first datagram from `from` whose version byte is 3, then sends it
 * `copies` times by unicast to `to`:5240. Prints {ready: true} once it
 * listens, then {captured: HEX, sent: N}.
 */
import { createSocket } from 'node:dgram';

interface Args {
  group: string;
  local: string;
  from: string;
  to: string;
  copies: number;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as Args;
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => s.bind({ port: 5240 }, () => r()));
  s.addMembership(a.group, a.local);
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  const captured = await new Promise<Buffer>((resolve) => {
    const onMessage = (msg: Buffer, rinfo: { address: string }): void => {
      if (rinfo.address !== a.from || msg[0] !== 3) return;
      s.off('message', onMessage);
      resolve(Buffer.from(msg));
    };
    s.on('message', onMessage);
  });
  let sent = 0;
  for (let i = 0; i < a.copies; i++) {
    await new Promise<void>((r, j) => s.send(captured, 5240, a.to, (err) => (err ? j(err) : r())));
    sent++;
    // Apart, so that each copy is its own reception (not one capture batch): the count is then exact.
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(JSON.stringify({ captured: captured.toString('hex'), sent }) + '\n');
  s.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
