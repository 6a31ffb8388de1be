/**
 * The agent's hint-ageing timer (src/agent/hint-expiry.ts): it fires when
 * the core says a hint can expire, with no beacon arriving, and only then.
 */
import t from 'tap';
import { HintExpiryTimer } from '../../src/agent/hint-expiry';
import { Correlator } from '../../src/topology/correlate';
import type { TopologyHint } from '../../src/topology/hints';
import { rx, ulidAt } from '../helpers/agent';

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** Waits until `done()` or `ms` pass (the machine may be busy: no exact timing is asserted). */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(10);
}

t.test('fires when a hint can expire, with no beacon arriving, reports what went, and asks no more than needed', async (t) => {
  const c = new Correlator({ ttlMs: 300 });
  const base = Date.now();
  // The clock is a parameter: the later ULID is fed at its own time first.
  c.onReceive(rx({ ulid: ulidAt(base + 3_000, 2), iface: 'eth1' }), base + 3_000);
  c.onReceive(rx({ ulid: ulidAt(base, 1), iface: 'eth0' }), base);
  const calls: Array<{ hints: TopologyHint[]; at: number }> = [];
  let expires = 0;
  const core = {
    expire: (now: number) => {
      expires++;
      return c.expire(now);
    },
    nextExpiryMs: () => c.nextExpiryMs(),
  };
  const timer = new HintExpiryTimer(core, Date.now, (hints, at) => calls.push({ hints, at }));
  t.teardown(() => timer.stop());
  timer.arm();
  timer.arm(); // armed already for that moment: no second timer
  await until(() => calls.length > 0, 3_000);
  t.same(
    calls.map((x) => x.hints.map((h) => h.ifname)),
    [['eth0']],
    'the first hint went, the second (due 3 s later) not yet',
  );
  t.ok(calls[0]!.at - base > 300, 'strictly past the TTL');
  t.equal(expires, 1, 'one firing, at the due time: no polling');
  t.same(
    c.hints().map((h) => h.ifname),
    ['eth1'],
  );
});

t.test('a reception that brings the expiry forward re-arms earlier; now() ages at once; stop() ends it', async (t) => {
  const c = new Correlator({ ttlMs: 5_000 });
  const base = Date.now();
  c.onReceive(rx({ ulid: ulidAt(base, 1), iface: 'eth0' }), base);
  const gone: string[] = [];
  const timer = new HintExpiryTimer(c, Date.now, (hints) => gone.push(...hints.map((h) => h.ifname)));
  timer.arm();
  // A late beacon: its ULID is older, so it expires first.
  c.onReceive(rx({ ulid: ulidAt(base - 4_900, 2), iface: 'eth1' }), base);
  timer.arm();
  await until(() => gone.length > 0, 3_000);
  t.same(gone, ['eth1'], 'the earlier expiry was not missed behind the later timer');
  t.ok(Date.now() < base + 5_000, 'long before the first timer was due');
  let clock = base + 5_001;
  const manual = new HintExpiryTimer(
    c,
    () => clock,
    (hints) => gone.push(...hints.map((h) => h.ifname)),
  );
  manual.now();
  t.same(gone, ['eth1', 'eth0'], 'now() ages to the clock and reports');
  manual.stop();
  timer.stop();
  c.onReceive(rx({ ulid: ulidAt(base, 3), iface: 'eth2' }), base);
  timer.arm();
  clock = base + 10_000;
  manual.now();
  t.same(gone, ['eth1', 'eth0', 'eth2'], 'stopped, it still ages on demand');
});

t.test('a timer that fires before the wall clock reaches the due moment waits out the rest, without asking the core', async (t) => {
  // The wall clock is held 10 ms short of the due moment: the 20 ms timer
  // fires "early" by that clock, as Node's monotonic timers may by a ms.
  const start = 1_000_000;
  let clock = start;
  const due = start + 20;
  let expires = 0;
  const fired: number[] = [];
  const core = {
    expire: (now: number) => {
      expires++;
      return now >= due ? [{ ifname: 'eth0' } as TopologyHint] : [];
    },
    nextExpiryMs: () => (expires > 0 ? undefined : due),
  };
  const timer = new HintExpiryTimer(
    core,
    () => clock,
    (_hints, at) => fired.push(at),
  );
  t.teardown(() => timer.stop());
  timer.arm();
  clock = start + 10;
  await sleep(120);
  t.equal(expires, 0, 'the core was not asked before its due moment, however often the timer woke');
  clock = due;
  await until(() => fired.length > 0, 3_000);
  t.equal(expires, 1, 'asked once, at the due moment');
  t.same(fired, [due], 'and the hint that went is reported with that time');
});
