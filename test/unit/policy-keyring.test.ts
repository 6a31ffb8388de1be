/** Secret rotation: the keyring's windows, and the verifier that retries only HMAC failures with previous keys. */
import t from 'tap';
import { decodeItem } from '../../src/engine/decode';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import type { BatchVerifier, PayloadBatch } from '../../src/engine/types';
import type { FernetKey } from '../../src/protocol/key';
import { encodeBeacon } from '../../src/protocol/beacon';
import { fernetEncrypt, keyObjects } from '../../src/protocol/fernet';
import { writeHeader } from '../../src/protocol/header';
import { deriveKey, keyFingerprint } from '../../src/protocol/key';
import { reasonName } from '../../src/protocol/reasons';
import { Keyring, keyringEntry, type KeyringEntry } from '../../src/protocol/keyring';
import { MultiKeyVerifier } from '../../src/engine/multikey-verifier';

// Two real secrets (and two more for the order and "nobody's" cases), derived as MAAS derives them.
const NEW = deriveKey(Buffer.from('6e6577207365637265742c20726f746174656421', 'hex'));
const OLD = deriveKey(Buffer.from('6f6c6420736563726574', 'hex'));
const OLDER = deriveKey(Buffer.from('6f6c64657220736563726574', 'hex'));
const STRANGER = deriveKey(Buffer.from('deadbeef', 'hex'));
const T = 1_795_000_000; // seconds

const ring = (...entries: KeyringEntry[]): Keyring => new Keyring(entries);

t.test('keyringEntry fingerprints the key', async (t) => {
  const e = keyringEntry(NEW, 'current');
  t.same(e, { fingerprint: keyFingerprint(NEW), key: NEW, role: 'current' });
  t.equal(keyringEntry(OLD, 'previous', T).acceptUntil, T);
});

t.test('the current key signs at any time; previous keys are accepted before acceptUntil only', async (t) => {
  const k = ring(keyringEntry(OLD, 'previous', T + 100), keyringEntry(NEW, 'current'));
  t.equal(k.signingKey().fingerprint, keyFingerprint(NEW), 'signing is always the current key');
  t.same(
    k.acceptedKeys(T).map((e) => e.fingerprint),
    [keyFingerprint(NEW), keyFingerprint(OLD)],
    'inside the window: both, current first',
  );
  t.same(k.acceptedKeys(T + 99.9).length, 2);
  t.same(
    k.acceptedKeys(T + 100).map((e) => e.fingerprint),
    [keyFingerprint(NEW)],
    'the end of the window is outside it',
  );
  t.same(
    k.acceptedKeys(T + 10_000).map((e) => e.fingerprint),
    [keyFingerprint(NEW)],
  );
  t.equal(k.signingKey().fingerprint, keyFingerprint(NEW), 'still signing with the current key after the window');
});

t.test('previous keys are ordered most recently retired first; states and nextExpiry', async (t) => {
  const k = ring(keyringEntry(OLDER, 'previous', T + 10), keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', T + 100));
  t.same(
    k.previousKeys().map((e) => e.fingerprint),
    [keyFingerprint(OLD), keyFingerprint(OLDER)],
  );
  t.same(k.states(T + 50), [
    { fingerprint: keyFingerprint(NEW), role: 'current', accepting: true },
    { fingerprint: keyFingerprint(OLD), role: 'previous', accepting: true, acceptUntil: T + 100 },
    { fingerprint: keyFingerprint(OLDER), role: 'previous', accepting: false, acceptUntil: T + 10 },
  ]);
  t.equal(k.nextExpiry(T), T + 10);
  t.equal(k.nextExpiry(T + 10), T + 100);
  t.equal(k.nextExpiry(T + 100), undefined);
  // Equal window ends: by fingerprint, so the order does not depend on the input order.
  const a = ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', T), keyringEntry(OLDER, 'previous', T)).previousKeys();
  const b = ring(keyringEntry(NEW, 'current'), keyringEntry(OLDER, 'previous', T), keyringEntry(OLD, 'previous', T)).previousKeys();
  t.same(
    a.map((e) => e.fingerprint),
    b.map((e) => e.fingerprint),
  );
});

t.test('a keyring that cannot be meant is refused', async (t) => {
  t.throws(() => ring(keyringEntry(OLD, 'previous', T)), { message: /exactly one current key, got 0/ });
  t.throws(() => ring(keyringEntry(OLD, 'current'), keyringEntry(NEW, 'current')), { message: /got 2/ });
  t.throws(() => ring(keyringEntry(NEW, 'current'), keyringEntry(NEW, 'previous', T)), { message: /listed twice/ });
  t.throws(() => ring(keyringEntry(NEW, 'current', T)), { message: /cannot have an end/ });
  t.throws(() => ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous')), { message: /needs a finite acceptUntil/ });
  t.throws(() => ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', Number.POSITIVE_INFINITY)), { message: /finite/ });
  t.throws(() => ring({ ...keyringEntry(NEW, 'current'), fingerprint: '00000000' }), { message: /not that of its key/ });
});

/** Counts what the wrapped verifiers were asked to do, per key. */
function countingFactory(): { factory: (key: FernetKey) => BatchVerifier; calls: Map<string, number[]>; made: string[] } {
  const calls = new Map<string, number[]>();
  const made: string[] = [];
  const factory = (key: FernetKey): BatchVerifier => {
    const fp = keyFingerprint(key);
    made.push(fp);
    const inner = new JsBatchVerifier(key);
    return {
      verify(batch: PayloadBatch) {
        calls.set(fp, [...(calls.get(fp) ?? []), batch.count]);
        return inner.verify(batch);
      },
    };
  };
  return { factory, calls, made };
}

function beacon(key: FernetKey, name: string, nowSeconds = T): Buffer {
  return encodeBeacon(keyObjects(key), 'solicitation', { remote: { name, mac_address: '52:54:00:00:00:01' } }, { nowMs: nowSeconds * 1000 }).bytes;
}

/** A datagram whose token is authentic under `key` but whose plaintext is not gzip. */
function notGzip(key: FernetKey): Buffer {
  const token = fernetEncrypt(keyObjects(key), Buffer.from('plainly not gzip'), T);
  const out = Buffer.alloc(4 + token.length);
  writeHeader(out, 2, 1, token.length);
  token.copy(out, 4);
  return out;
}

function batchOf(items: readonly Uint8Array[], now: readonly number[]): PayloadBatch {
  const offsets = new Uint32Array(items.length + 1);
  let at = 0;
  items.forEach((b, i) => {
    offsets[i] = at;
    at += b.length;
  });
  offsets[items.length] = at;
  return { count: items.length, data: Buffer.concat(items), offsets, now: Float64Array.from(now) };
}

const noPayload = Buffer.from([2, 1, 0, 0]);

t.test('MultiKeyVerifier re-verifies only the mac failures, with previous keys in their window, and names the key', async (t) => {
  const { factory, calls, made } = countingFactory();
  const keyring = ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', T + 100), keyringEntry(OLDER, 'previous', T + 50));
  const v = new MultiKeyVerifier(keyring, factory);
  t.same(made, [keyFingerprint(NEW), keyFingerprint(OLD), keyFingerprint(OLDER)], 'one verifier per key, made up front');

  const items = [
    beacon(NEW, 'current'), // 0 ok by NEW
    beacon(OLD, 'old'), // 1 ok by OLD
    beacon(OLDER, 'older'), // 2 mac by OLD, ok by OLDER
    beacon(STRANGER, 'stranger'), // 3 mac by all
    Buffer.from([2, 1]), // 4 short: never reaches a key
    noPayload, // 5 ok, nothing to authenticate
    notGzip(OLD), // 6 HMAC matches OLD, then gzip fails
    beacon(OLD, 'stale', T - 600), // 7 expired: judged before any HMAC, never retried
    beacon(OLD, 'late', T + 100), // 8 at T+100: OLD's window has ended
  ];
  const now = [T, T, T, T, T, T, T, T, T + 100];
  const out = v.verify(batchOf(items, now));
  const reasons = [...out.status].map(reasonName);
  t.same(reasons, ['ok', 'ok', 'ok', 'mac', 'short', 'ok', 'gzip', 'expired', 'mac']);
  t.same(out.keyFingerprints, [keyFingerprint(NEW), keyFingerprint(OLD), keyFingerprint(OLDER), null, null, null, keyFingerprint(OLD), null, null]);

  // The current key saw everything once; OLD only the four mac failures inside its
  // window (2, 3, 6 at T; 8 at T+100 is outside); OLDER only what OLD left (2, 3).
  t.same(calls.get(keyFingerprint(NEW)), [9]);
  t.same(calls.get(keyFingerprint(OLD)), [4]);
  t.same(calls.get(keyFingerprint(OLDER)), [2]);
  t.same(v.stats(), {
    batches: 1,
    items: 9,
    retried: 6,
    extraCalls: 2,
    matched: { [keyFingerprint(NEW)]: 1, [keyFingerprint(OLD)]: 2, [keyFingerprint(OLDER)]: 1 },
  });

  // The merged plaintext decodes item by item.
  const names = [0, 1, 2].map((i) => {
    const d = decodeItem(out, i);
    return d.ok ? (d.payload!.remote as { name: string }).name : d.reason;
  });
  t.same(names, ['current', 'old', 'older']);
  const empty = decodeItem(out, 5);
  t.ok(empty.ok && empty.payload === null, 'the empty item stays empty');
  t.same([...out.version], [2, 2, 2, 2, 0, 2, 2, 2, 2], 'header fields are carried over');
});

t.test('no extra call when nothing fails on the HMAC, or no window is open', async (t) => {
  const { factory, calls } = countingFactory();
  const v = new MultiKeyVerifier(ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', T + 100)), factory);
  const good = v.verify(batchOf([beacon(NEW, 'a'), Buffer.from([9])], [T, T]));
  t.same([...good.status].map(reasonName), ['ok', 'short']);
  t.same(calls.get(keyFingerprint(OLD)), undefined, 'no mac failure: previous key untouched');
  const late = v.verify(batchOf([beacon(OLD, 'a', T + 200)], [T + 200]));
  t.same([...late.status].map(reasonName), ['mac']);
  t.same(late.keyFingerprints, [null]);
  t.same(calls.get(keyFingerprint(OLD)), undefined, 'window over: previous key untouched');
  t.equal(v.stats().extraCalls, 0);
  const none = v.verify(batchOf([], []));
  t.equal(none.count, 0);
});

t.test("a batch straddling the end of a window is cut at each item's own clock", async (t) => {
  const { factory, calls } = countingFactory();
  const v = new MultiKeyVerifier(ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', T + 1)), factory);
  const out = v.verify(batchOf([beacon(OLD, 'a'), beacon(OLD, 'b')], [T + 0.5, T + 1]));
  t.same([...out.status].map(reasonName), ['ok', 'mac']);
  t.same(calls.get(keyFingerprint(OLD)), [1]);
});

t.test('setKeyring keeps the verifiers of keys that stay and promotes a new current key', async (t) => {
  const { factory, made } = countingFactory();
  const v = new MultiKeyVerifier(ring(keyringEntry(OLD, 'current')), factory);
  t.same(v.verify(batchOf([beacon(NEW, 'x')], [T])).keyFingerprints, [null], "before the rotation the new secret is nobody's");
  v.setKeyring(ring(keyringEntry(NEW, 'current'), keyringEntry(OLD, 'previous', T + 60)));
  t.same(made, [keyFingerprint(OLD), keyFingerprint(NEW)], 'only the new key got a new verifier');
  const out = v.verify(batchOf([beacon(NEW, 'x'), beacon(OLD, 'y')], [T, T]));
  t.same(out.keyFingerprints, [keyFingerprint(NEW), keyFingerprint(OLD)]);
});
