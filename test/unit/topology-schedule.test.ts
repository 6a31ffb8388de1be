import t from 'tap';
import { ADVERTISEMENT_INTERVAL_MS, SOLICITATION_PERIOD_MS, SOLICITATION_RETRY_MS, Scheduler, type ScheduledAction } from '../../src/topology/schedule';

const S = 1_000;

/** Ticks every 100 ms from `from` to `to` and records what came out, and when. */
function run(s: Scheduler, from: number, to: number): Array<[number, ScheduledAction]> {
  const out: Array<[number, ScheduledAction]> = [];
  for (let now = from; now <= to; now += 100) for (const a of s.tick(now)) out.push([now, a]);
  return out;
}

t.test('the MAAS timings', async (t) => {
  t.equal(SOLICITATION_PERIOD_MS, 30 * S);
  t.equal(SOLICITATION_RETRY_MS, 3 * S);
  t.equal(ADVERTISEMENT_INTERVAL_MS, 5 * S);
});

t.test('nothing is due before anything happens', async (t) => {
  const s = new Scheduler();
  t.same(s.tick(0), []);
  t.equal(s.nextDueMs(), undefined);
});

t.test('solicitations: on an interface change, 3 s later, then every 30 s with a 3 s retry', async (t) => {
  const s = new Scheduler();
  s.interfacesChanged(10 * S);
  t.equal(s.nextDueMs(), 10 * S);
  t.same(run(s, 10 * S, 75 * S), [
    [10 * S, { kind: 'multicast_solicitation', reason: 'interfaces_changed' }],
    [13 * S, { kind: 'multicast_solicitation', reason: 'retry' }],
    [40 * S, { kind: 'multicast_solicitation', reason: 'periodic' }],
    [43 * S, { kind: 'multicast_solicitation', reason: 'retry' }],
    [70 * S, { kind: 'multicast_solicitation', reason: 'periodic' }],
    [73 * S, { kind: 'multicast_solicitation', reason: 'retry' }],
  ]);
  t.equal(s.nextDueMs(), 100 * S);
});

t.test('an interface change restarts the period', async (t) => {
  const s = new Scheduler();
  s.interfacesChanged(0);
  s.tick(0);
  s.tick(3 * S);
  s.interfacesChanged(25 * S);
  s.interfacesChanged(26 * S); // a second change before the tick does not delay the first
  t.equal(s.nextDueMs(), 25 * S);
  t.same(run(s, 26 * S, 60 * S), [
    [26 * S, { kind: 'multicast_solicitation', reason: 'interfaces_changed' }],
    [29 * S, { kind: 'multicast_solicitation', reason: 'retry' }],
    [56 * S, { kind: 'multicast_solicitation', reason: 'periodic' }],
    [59 * S, { kind: 'multicast_solicitation', reason: 'retry' }],
  ]);
});

t.test('after a long gap, one solicitation, and no backlog', async (t) => {
  const s = new Scheduler();
  s.interfacesChanged(0);
  s.tick(0);
  t.same(s.tick(500 * S), [{ kind: 'multicast_solicitation', reason: 'periodic' }], 'retry and many periods were due; one goes');
  t.same(s.tick(500 * S), []);
  t.equal(s.nextDueMs(), 503 * S);
});

t.test('multicast advertisements: at most once per 5 s, requests merged, none lost', async (t) => {
  const s = new Scheduler();
  s.requestAdvertisement(1 * S);
  t.equal(s.nextDueMs(), 1 * S);
  t.same(s.tick(1 * S), [{ kind: 'multicast_advertisement' }], 'the first goes at once');
  s.requestAdvertisement(2 * S);
  s.requestAdvertisement(3 * S);
  t.equal(s.nextDueMs(), 6 * S, '5 s after the last');
  t.same(s.tick(5.9 * S), []);
  t.same(s.tick(6 * S), [{ kind: 'multicast_advertisement' }], 'both requests, one advertisement');
  t.same(s.tick(7 * S), []);
  t.equal(s.nextDueMs(), undefined);
  s.requestAdvertisement(20 * S);
  t.same(s.tick(20 * S), [{ kind: 'multicast_advertisement' }], 'long after the last: at once');
});

t.test('a request made with an earlier clock than the last advertisement waits its turn', async (t) => {
  const s = new Scheduler();
  s.requestAdvertisement(10 * S);
  s.tick(10 * S);
  s.requestAdvertisement(9 * S);
  t.equal(s.nextDueMs(), 15 * S);
});

t.test('solicitations and advertisements are paced independently', async (t) => {
  const s = new Scheduler();
  s.interfacesChanged(0);
  s.requestAdvertisement(0);
  t.same(s.tick(0), [{ kind: 'multicast_solicitation', reason: 'interfaces_changed' }, { kind: 'multicast_advertisement' }]);
});

t.test('timings are configurable', async (t) => {
  const s = new Scheduler({ solicitationPeriodMs: 10, solicitationRetryMs: 2, advertisementIntervalMs: 4 });
  s.interfacesChanged(0);
  s.requestAdvertisement(0);
  s.tick(0);
  s.requestAdvertisement(1);
  t.equal(s.nextDueMs(), 2);
  t.same(s.tick(2), [{ kind: 'multicast_solicitation', reason: 'retry' }]);
  t.same(s.tick(4), [{ kind: 'multicast_advertisement' }]);
  t.same(s.tick(10), [{ kind: 'multicast_solicitation', reason: 'periodic' }]);
});

t.test('setPeriods (a reload) keeps what is pending and brings a long period forward', async (t) => {
  const s = new Scheduler();
  s.interfacesChanged(0);
  t.same(s.tick(0), [{ kind: 'multicast_solicitation', reason: 'interfaces_changed' }]);
  t.equal(s.nextDueMs(), 3_000, 'the retry is pending');
  s.setPeriods({ solicitationPeriodMs: 10_000, solicitationRetryMs: 1_000, advertisementIntervalMs: 2_000 }, 1_000);
  t.equal(s.nextDueMs(), 3_000, 'the pending retry keeps its time');
  t.same(s.tick(3_000), [{ kind: 'multicast_solicitation', reason: 'retry' }]);
  t.equal(s.nextDueMs(), 11_000, 'the periodic solicitation moved from 30 s to 1 s + 10 s');
  t.same(s.tick(11_000), [{ kind: 'multicast_solicitation', reason: 'periodic' }]);
  t.equal(s.nextDueMs(), 12_000, 'the new 1 s retry applies');
  s.requestAdvertisement(12_000);
  t.same(s.tick(12_000), [{ kind: 'multicast_solicitation', reason: 'retry' }, { kind: 'multicast_advertisement' }]);
  s.requestAdvertisement(12_500);
  t.equal(s.nextDueMs(), 14_000, 'the new 2 s advertisement spacing');
  s.setPeriods({}, 13_000);
  t.equal(s.nextDueMs(), 14_000, 'an empty change changes nothing');
  const idle = new Scheduler();
  idle.setPeriods({ solicitationPeriodMs: 5_000 }, 0);
  t.equal(idle.nextDueMs(), undefined, 'nothing pending stays nothing pending');
});
