/**
 * The live engines' edges that need no network: option and argument
 * errors, life-cycle misuse, and tcpdump's failure modes through a fake
 * tcpdump (a script that says what tcpdump says and writes what it writes).
 */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBinding } from '../../src/engine/binding';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { NativeLiveCapture } from '../../src/capture/live-native';
import { openLiveCapture, tcpdumpAvailable } from '../../src/capture/live-open';
import { MAAS_FILTER, TcpdumpLiveCapture, tcpdumpExitCode } from '../../src/capture/live-tcpdump';
import { UdpLiveCapture } from '../../src/capture/live-udp';
import type { InterfaceGone, LiveRecord } from '../../src/capture/live';
import { corpusCases, corpusKey, vector } from '../helpers/corpus';
import { Keyring, keyringEntry } from '../../src/protocol/keyring';
import { deriveKey } from '../../src/protocol/key';

const key = corpusKey();
const otherKey = deriveKey(Buffer.from('fedcba98765432100123456789abcdef', 'hex'));
const verifier = new JsBatchVerifier(key);
const native = loadBinding();

t.test('native: options are checked before the addon sees them', { skip: native.ok ? false : 'addon not built' }, async (t) => {
  t.throws(() => new NativeLiveCapture(key, { blockSize: 1000 }), RangeError);
  t.throws(() => new NativeLiveCapture(key, { blockSize: 65536 + 1024 }), RangeError);
  t.throws(() => new NativeLiveCapture(key, { blockCount: 1.5 }), TypeError);
  t.throws(() => new NativeLiveCapture(key, { poolSize: 0 }), RangeError);
  t.throws(() => new NativeLiveCapture(key, { retireMs: 0 }), RangeError);
  t.throws(() => new NativeLiveCapture(key, { plainBytes: 1024 }), RangeError);
});

t.test('native: life cycle and a missing interface', { skip: native.ok ? false : 'addon not built' }, async (t) => {
  const cap = new NativeLiveCapture(key, { blockCount: 2, poolSize: 1 });
  t.equal(cap.engine, 'native');
  await t.rejects(cap.add('nbt-no-such-if'), { code: 'ENODEV' });
  cap.remove('nbt-no-such-if');
  t.same(cap.stats(), {});
  await cap.close();
  await cap.close();
  await t.rejects(cap.add('lo'), /closed/);
  cap.remove('lo');
  t.same(cap.stats(), {});
});

t.test('native addon: argument errors are typed', { skip: native.ok ? false : 'addon not built' }, async (t) => {
  const b = native.ok ? native.binding : ({} as Record<string, unknown>);
  const Ctor = b.NativeCapture as new (...a: unknown[]) => { add(x: unknown): number; release(slot: unknown): boolean; close(): Promise<void> };
  t.throws(() => new Ctor(null, () => undefined), TypeError);
  t.throws(() => new Ctor({ signingKey: key.signing, encryptionKey: key.encryption }, 'nope'), TypeError);
  t.throws(() => new Ctor({ signingKey: new Uint8Array(3), encryptionKey: key.encryption }, () => undefined), TypeError);
  const c = new Ctor({ signingKey: key.signing, encryptionKey: key.encryption, blockCount: 2, poolSize: 1 }, () => undefined);
  t.throws(() => c.add(42), TypeError);
  // Only a slot the 'batch' callback kept can be given back: none is kept here.
  t.throws(() => c.release('0'), TypeError);
  for (const slot of [0, 1, -1, 0.5, Number.NaN]) t.throws(() => c.release(slot), { name: 'RangeError', message: /is not a slot JS kept/ }, `release(${slot})`);
  await c.close();
  t.throws(() => c.add('lo'), /closed/);
  const send = b.sendFrame as (i: unknown, f: unknown) => void;
  const sendMany = b.sendFrames as (i: unknown, d: unknown, o: unknown) => number;
  t.throws(() => send(1, new Uint8Array(60)), TypeError);
  t.throws(() => send('lo', 'frame'), TypeError);
  t.throws(() => send('lo', new Uint8Array(10)), RangeError);
  t.throws(() => send('nbt-no-such-if', new Uint8Array(60)), { code: 'ENODEV' });
  t.throws(() => sendMany('lo', new Uint8Array(60), new Uint32Array(0)), RangeError);
  t.throws(() => sendMany('lo', new Uint8Array(60), Uint32Array.of(0, 61)), RangeError);
  t.throws(() => sendMany('lo', new Uint8Array(60), Uint32Array.of(30, 0)), RangeError);
  t.throws(() => sendMany('nbt-no-such-if', new Uint8Array(0), Uint32Array.of(0)), { code: 'ENODEV' }, 'the interface is checked even for an empty batch');
});

t.test('native: keys are checked, and can be replaced until closed', { skip: native.ok ? false : 'addon not built' }, async (t) => {
  const b = native.ok ? native.binding : ({} as Record<string, unknown>);
  const Ctor = b.NativeCapture as new (...a: unknown[]) => { setKeys(k: unknown): number; close(): Promise<void> };
  const k16 = { signingKey: key.signing, encryptionKey: key.encryption };
  t.throws(() => new Ctor({ ...k16, previousKeys: 'x', blockCount: 2, poolSize: 1 }, () => undefined), TypeError);
  t.throws(() => new Ctor({ ...k16, previousKeys: [42], blockCount: 2, poolSize: 1 }, () => undefined), { message: /previousKeys\[0\] must be an object/ });
  t.throws(() => new Ctor({ ...k16, previousKeys: [{ ...k16, acceptUntil: 1.5 }], blockCount: 2, poolSize: 1 }, () => undefined), {
    message: /acceptUntil must be whole seconds/,
  });
  t.throws(() => new Ctor({ ...k16, previousKeys: [{ ...k16 }], blockCount: 2, poolSize: 1 }, () => undefined), { message: /acceptUntil must be a number/ });
  t.throws(
    () => new Ctor({ ...k16, previousKeys: Array.from({ length: 16 }, () => ({ ...k16, acceptUntil: 1 })), blockCount: 2, poolSize: 1 }, () => undefined),
    { message: /at most 15/ },
  );
  const c = new Ctor({ ...k16, previousKeys: [{ ...k16, acceptUntil: 2_000_000_000 }], blockCount: 2, poolSize: 1 }, () => undefined);
  t.equal(c.setKeys(k16), 1, 'each setKeys is a new key generation');
  t.equal(c.setKeys({ ...k16, previousKeys: [] }), 2);
  t.throws(() => c.setKeys(null), TypeError);
  t.throws(() => c.setKeys({ signingKey: new Uint8Array(3), encryptionKey: key.encryption }), TypeError);
  await c.close();
  t.throws(() => c.setKeys(k16), /closed/);

  const cap = new NativeLiveCapture(new Keyring([keyringEntry(key, 'current'), keyringEntry(otherKey, 'previous', 2_000_000_000.5)]), {
    blockCount: 2,
    poolSize: 1,
  });
  cap.setKeys(key);
  cap.setKeys(new Keyring([keyringEntry(otherKey, 'current')]));
  t.same(cap.keyMatches(), {}, 'nothing matched yet');
  await cap.close();
  t.throws(() => cap.setKeys(key), /closed/);
});

/** A stand-in tcpdump: a shell script in a temporary directory (`exec sleep` so that SIGTERM reaches it at once). */
function fakeTcpdump(t: { teardown(fn: () => void): void }, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-fake-tcpdump-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'tcpdump');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

t.test('tcpdump: a capture stream is verified like a file', async (t) => {
  // The corpus, as if tcpdump had captured it live.
  const bin = fakeTcpdump(
    t,
    `echo "tcpdump: listening on $2, link-type EN10MB (Ethernet), snapshot length 16384 bytes" >&2\ncat ${JSON.stringify(vector('corpus.pcap'))}\nexec sleep 30`,
  );
  const cap = new TcpdumpLiveCapture(verifier, { tcpdump: bin });
  const records: LiveRecord[] = [];
  cap.on('beacons', (r: LiveRecord[]) => records.push(...r));
  await cap.add('eth9');
  await t.rejects(cap.add('eth9'), /already/);
  for (let i = 0; i < 100 && records.length < 23; i++) await new Promise((r) => setTimeout(r, 20));
  const cases = corpusCases().filter((c) => !c.not_udp);
  t.equal(records.length, cases.length, 'one record per UDP/5240 frame');
  // The corpus is old: its tokens are judged at their capture time in files,
  // but live at arrival time, so here every token is expired.
  t.ok(records.every((r) => r.interface === 'eth9'));
  const s = cap.stats().eth9!;
  t.equal(s.packets, corpusCases().length);
  t.equal(s.skipped, 1, 'the ARP frame');
  t.equal(s.beacons + s.rejected, cases.length);
  await cap.close();
  await cap.close();
  await t.rejects(cap.add('eth1'), /closed/);
});

t.test('tcpdump: what a capture that stopped died of', async (t) => {
  t.equal(tcpdumpExitCode('tcpdump: pcap_loop: The interface disappeared\n', true), 'ENODEV');
  t.equal(tcpdumpExitCode('tcpdump: eth0: No such device exists\n3 packets captured\n', true), 'ENODEV', 'found in any line, not only the last');
  t.equal(tcpdumpExitCode('tcpdump: pcap_loop: The interface went down\n', false), 'ENODEV', 'went down, and then deleted: gone');
  t.equal(tcpdumpExitCode('tcpdump: pcap_loop: The interface went down\n', true), 'ENETDOWN', 'went down and still there');
  t.equal(tcpdumpExitCode('tcpdump: killed\n', true), 'EPIPE');
});

t.test('tcpdump: failures', async (t) => {
  await t.rejects(new TcpdumpLiveCapture(verifier, { tcpdump: '/nonexistent/tcpdump' }).add('eth0'), /cannot run tcpdump/);
  const refuses = fakeTcpdump(t, 'echo "tcpdump: eth0: No such device exists" >&2; exit 1');
  await t.rejects(new TcpdumpLiveCapture(verifier, { tcpdump: refuses }).add('eth0'), /exited 1: tcpdump: eth0: No such device/);
  const mute = fakeTcpdump(t, 'exec sleep 30');
  await t.rejects(new TcpdumpLiveCapture(verifier, { tcpdump: mute, startTimeoutMs: 200 }).add('eth0'), /did not start/);

  const dies = fakeTcpdump(t, 'echo "tcpdump: listening on eth0" >&2; sleep 0.2; echo "tcpdump: pcap_loop: The interface disappeared" >&2; exit 1');
  const cap = new TcpdumpLiveCapture(verifier, { tcpdump: dies });
  const gone = new Promise<InterfaceGone>((r) => cap.once('interface-gone', r));
  await cap.add('eth0');
  t.match(await gone, { interface: 'eth0', code: 'ENODEV', message: /disappeared/ });
  t.same(cap.stats(), {});
  await cap.close();

  const garbage = fakeTcpdump(t, 'echo "tcpdump: listening on eth0" >&2; echo "this is not a pcap stream at all"; exec sleep 30');
  const bad = new TcpdumpLiveCapture(verifier, { tcpdump: garbage });
  const error = new Promise<Error>((r) => bad.once('error', r));
  await bad.add('eth0');
  t.match((await error).message, /bad capture stream/);
  t.same(bad.stats(), {}, 'that capture is ended');
  await bad.close();

  const removable = fakeTcpdump(t, 'echo "tcpdump: listening on eth0" >&2; exec sleep 30');
  const r = new TcpdumpLiveCapture(verifier, { tcpdump: removable });
  let goneEvents = 0;
  r.on('interface-gone', () => goneEvents++);
  await r.add('eth0');
  r.remove('eth0');
  r.remove('eth0');
  await new Promise((res) => setTimeout(res, 100));
  t.equal(goneEvents, 0, 'removing is not going away');
  await r.close();
});

t.test('udp: needs an interface with addresses', async (t) => {
  const cap = new UdpLiveCapture(verifier);
  t.equal(cap.engine, 'udp');
  await t.rejects(cap.add('nbt-no-such-if'), /no addresses/);
  cap.remove('nbt-no-such-if');
  t.same(cap.stats(), {});
  await cap.close();
  await t.rejects(cap.add('lo'), /closed/);
});

t.test('openLiveCapture picks an engine', async (t) => {
  const js = openLiveCapture({ engine: 'js', key, verifier });
  t.equal(js.engine, tcpdumpAvailable() ? 'tcpdump' : 'udp');
  await js.close();
  const udp = openLiveCapture({ engine: 'js', key, verifier, jsEngine: 'udp' });
  t.equal(udp.engine, 'udp');
  await udp.close();
  t.equal(tcpdumpAvailable('/nonexistent/tcpdump'), false);
  if (native.ok) {
    const n = openLiveCapture({ engine: 'native', key, verifier });
    t.equal(n.engine, 'native');
    await n.close();
  }
  t.match(MAAS_FILTER, /vlan and udp dst port 5240/);
});
