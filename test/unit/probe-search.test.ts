/** The MTU bisection against simulated links, the pacer on a fake clock, and the per-peer verdict. */
import t from 'tap';
import { MtuSearch } from '../../src/probe/mtu-search';
import { Pacer } from '../../src/probe/pace';
import { mtuExitCode, peerVerdict, type DirectionReport, type MtuReport } from '../../src/probe/mtu-report';

/** Runs a search over a link that carries sizes <= path, losing the probes `lose` says to. */
function simulate(min: number, max: number, path: number, opts: { tries?: number; maxProbes?: number; lose?: (n: number, size: number) => boolean } = {}) {
  const s = new MtuSearch({ min, max, tries: opts.tries, maxProbes: opts.maxProbes });
  const sizes: number[] = [];
  let n = 0;
  for (let size = s.next(); size !== undefined; size = s.next()) {
    sizes.push(size);
    s.record(size <= path && !(opts.lose?.(n++, size) ?? false));
    if (sizes.length > 1000) throw new Error('runaway search');
  }
  return { result: s.result(), sizes, done: s.done };
}

t.test('finds the exact path MTU, anywhere in the range', async (t) => {
  for (const [max, path] of [
    [9000, 1500],
    [9000, 9000],
    [9000, 1280],
    [9216, 9001],
    [1500, 1499],
    [1280, 1280],
    [9000, 4321],
  ] as const) {
    const { result, sizes, done } = simulate(1280, max, path);
    t.equal(result.path_mtu, path, `max ${max}, path ${path}`);
    t.ok(done);
    t.notOk(result.incomplete);
    if (path < max) t.equal(result.smallest_lost, path + 1, 'and the first size that does not cross');
    t.ok(sizes.length <= 2 * (2 + Math.ceil(Math.log2(max - 1280 + 1))), `bounded: ${sizes.length} probes`);
  }
});

t.test('a clean link costs one probe; the maximum is tried first, the minimum second', async (t) => {
  t.same(simulate(1280, 9000, 9000).sizes, [9000]);
  t.same(simulate(1280, 9000, 1500).sizes.slice(0, 5), [9000, 9000, 1280, 5140, 5140], 'each loss is retried once (tries 2)');
});

t.test('nothing crosses: null after trying max and min, no bisection', async (t) => {
  const { result, sizes } = simulate(1280, 9000, 1000);
  t.equal(result.path_mtu, null);
  t.equal(result.smallest_lost, 1280);
  t.same(sizes, [9000, 9000, 1280, 1280]);
});

t.test('a lost probe is retried: one loss does not make a size too big', async (t) => {
  // Lose every first attempt at each size: with tries 2 the answer is still exact.
  const seen = new Set<number>();
  const r = simulate(1280, 9000, 1500, { lose: (_n, size) => (seen.has(size) ? false : (seen.add(size), true)) });
  t.equal(r.result.path_mtu, 1500);
  const once = simulate(1280, 9000, 1500, { tries: 1, lose: (n) => n === 0 }); // the first probe that could arrive is 1280
  t.equal(once.result.path_mtu, null, 'with tries 1 a single loss of the minimum is believed');
});

t.test('maxProbes stops the search and says so', async (t) => {
  const r = simulate(1280, 9000, 1500, { maxProbes: 5 });
  t.equal(r.result.probes, 5);
  t.ok(r.result.incomplete);
  t.equal(r.result.path_mtu, 1280, 'what is known so far');
  const mid = simulate(1280, 9000, 100, { maxProbes: 1 });
  t.ok(mid.result.incomplete, 'stopped between the two tries of one size');
  t.equal(mid.result.probes, 1);
});

t.test('bad options and misuse are errors', async (t) => {
  t.throws(() => new MtuSearch({ min: 1500, max: 1280 }), RangeError);
  t.throws(() => new MtuSearch({ min: 0, max: 1280 }), RangeError);
  t.throws(() => new MtuSearch({ min: 1280, max: 1500, tries: 0 }), { message: /tries/ });
  t.throws(() => new MtuSearch({ min: 1280, max: 1500, maxProbes: 0 }), { message: /maxProbes/ });
  t.throws(() => new MtuSearch({ min: 1280, max: 1500 }).record(true), { message: /without a probe/ });
});

t.test('the pacer holds the rate, sends in bursts of a tenth of a second, and stops at its limit', async (t) => {
  const T = 1_000_000;
  const p = new Pacer(200, T);
  t.equal(p.grant(1000, T), 20, 'a burst of 20 at 200/s');
  t.equal(p.grant(1, T), 0);
  t.equal(p.waitMs(T), 5, 'one frame every 5 ms');
  let sent = 20;
  for (let ms = 1; ms <= 1000; ms++) sent += p.grant(1000, T + ms);
  t.ok(sent <= 200 + 20 && sent >= 200, `${sent} frames in the first second`);
  t.equal(p.waitMs(T + 1000) >= 0, true);
  const batched = new Pacer(200, T);
  t.equal(batched.burst, 20);
  batched.grant(20, T);
  t.equal(batched.waitMs(T, 100), 100, 'a whole burst of 20 is ready 100 ms later');
  t.equal(batched.waitMs(T, 5), 25, 'five frames 25 ms later');
  const limited = new Pacer(1000, T, 3);
  t.equal(limited.waitMs(T, 50), 0, 'no more than the limit is waited for');
  t.equal(limited.grant(10, T), 3);
  t.equal(limited.granted, 3);
  t.equal(limited.waitMs(T + 5000), Number.POSITIVE_INFINITY, 'the limit is final');
  t.equal(new Pacer(1, T).grant(5, T), 1, 'slow rates still send one at a time');
  t.throws(() => new Pacer(0, T), { message: /rate/ });
  t.throws(() => new Pacer(Number.POSITIVE_INFINITY, T), { message: /rate/ });
  t.throws(() => new Pacer(10, T, -1), { message: /limit/ });
});

const dir = (path_mtu: number | null, probes = 3, note?: string): DirectionReport => ({ path_mtu, probes, incomplete: false, ...(note ? { note } : {}) });

t.test('per-peer verdict: the smaller measured direction, mismatch when it is not the interface MTU', async (t) => {
  t.same(peerVerdict(9000, dir(9000), dir(9000)), { path_mtu: 9000, mismatch: false });
  t.same(peerVerdict(9000, dir(1500), dir(9000)), { path_mtu: 1500, mismatch: true });
  t.same(peerVerdict(9000, dir(9000), dir(1500)), { path_mtu: 1500, mismatch: true }, 'the reverse counts too');
  t.same(peerVerdict(1500, dir(1500), dir(null, 0, 'not a netbeacon agent')), { path_mtu: 1500, mismatch: false }, 'an unmeasured direction is left out');
  t.same(peerVerdict(1500, dir(null), dir(1500)), { path_mtu: null, mismatch: true }, 'nothing crossed one way');
  t.same(peerVerdict(1500, dir(null, 0, 'x'), dir(null, 0, 'y')), { path_mtu: null, mismatch: true });
  const peer = (mismatch: boolean) => ({
    mac: 'm',
    ip: 'i',
    interface_mtu: 1500,
    peer_interface_mtu: 1500,
    forward: dir(1500),
    reverse: dir(1500),
    path_mtu: 1500,
    mismatch,
  });
  const report = (...mismatches: boolean[]): MtuReport => ({ interfaces: [{ interface: 'r0', interface_mtu: 1500, peers: mismatches.map(peer) }] });
  t.equal(mtuExitCode(report(false, false)), 0);
  t.equal(mtuExitCode(report(false, true)), 1);
  t.equal(mtuExitCode(report()), 1, 'no peer: 1');
});
