/** The native capture's hand-over queue (src/capture/batch-queue.ts), on a fake clock and a fake defer. */
import t from 'tap';
import { BatchQueue, type BatchQueueOptions } from '../../src/capture/batch-queue';

interface Batch {
  readonly id: string;
  readonly count: number;
}

/** A queue whose turns run only when the test says, on a clock each delivery advances by `costMs`. */
function harness(opts: Partial<BatchQueueOptions<Batch>> & { costMs?: number } = {}) {
  let clock = 0;
  const turns: Array<() => void> = [];
  const log: string[] = [];
  const q = new BatchQueue<Batch>({
    budgetMs: 10,
    sliceRecords: 4,
    deliver: (b, from, to) => {
      log.push(`${b.id}[${from},${to})`);
      clock += opts.costMs ?? 3;
    },
    done: (b) => log.push(`${b.id} done`),
    now: () => clock,
    defer: (fn) => turns.push(fn),
    ...opts,
  });
  /** Runs the next deferred turn; returns what it delivered and finished. */
  const turn = (): string[] => {
    const fn = turns.shift();
    if (!fn) throw new Error('no turn scheduled');
    const before = log.length;
    fn();
    return log.slice(before);
  };
  return { q, turns, log, turn };
}

t.test('delivers in slices, and yields once the budget is spent', async (t) => {
  const h = harness();
  h.q.push({ id: 'a', count: 10 });
  h.q.push({ id: 'b', count: 5 });
  t.equal(h.q.pending, 15);
  t.equal(h.turns.length, 1, 'one turn scheduled, not one per push');
  t.same(h.log, [], 'nothing delivered inside push');
  // 3 ms a slice, 10 ms a turn: slices start at 0, 3, 6 and 9 ms, then it yields.
  t.same(h.turn(), ['a[0,4)', 'a[4,8)', 'a[8,10)', 'a done', 'b[0,4)']);
  t.equal(h.q.pending, 1);
  t.equal(h.turns.length, 1, 'the rest is left for the next turn');
  t.same(h.turn(), ['b[4,5)', 'b done']);
  t.equal(h.q.pending, 0);
  t.equal(h.turns.length, 0, 'an empty queue schedules nothing');
  h.q.push({ id: 'c', count: 1 });
  t.same(h.turn(), ['c[0,1)', 'c done'], 'and starts again on the next push');
});

t.test('at least one slice per turn, however slow the consumer', async (t) => {
  const h = harness({ budgetMs: 0, costMs: 50 });
  h.q.push({ id: 'a', count: 8 });
  t.same(h.turn(), ['a[0,4)']);
  t.same(h.turn(), ['a[4,8)', 'a done']);
});

t.test('a batch of no records is done in its turn, in order with the others', async (t) => {
  const h = harness({ costMs: 0, budgetMs: 0 });
  h.q.push({ id: 'a', count: 2 });
  h.q.push({ id: 'gone', count: 0 });
  h.q.push({ id: 'b', count: 1 });
  t.equal(h.q.pending, 3);
  t.same(h.turn(), ['a[0,2)', 'a done']);
  t.same(h.turn(), ['gone done'], 'not delivered: there is nothing to deliver');
  t.same(h.turn(), ['b[0,1)', 'b done']);
});

t.test('a consumer that throws does not get the slice again, the batch is still done, and the rest still comes', async (t) => {
  let calls = 0;
  const h = harness({
    deliver: (b, from, to) => {
      calls++;
      if (calls <= 2) throw new Error(`boom ${calls}`);
      h.log.push(`${b.id}[${from},${to})`);
    },
  });
  h.q.push({ id: 'a', count: 6 });
  t.throws(() => h.turn(), /boom 1/);
  t.equal(h.q.pending, 2);
  t.equal(h.turns.length, 1, 'the next turn is scheduled even so');
  t.throws(() => h.turn(), /boom 2/);
  t.same(h.log, ['a done'], 'the last slice threw, and what the batch holds was given back');
  t.equal(h.q.pending, 0);
  t.equal(h.turns.length, 0);
});

t.test('close drops what is queued: nothing is delivered or done afterwards', async (t) => {
  const h = harness();
  h.q.push({ id: 'a', count: 6 });
  h.q.close();
  t.equal(h.q.pending, 0);
  h.turn();
  h.q.push({ id: 'b', count: 2 });
  t.equal(h.turns.length, 0);
  t.same(h.log, []);
});

t.test('close from inside a delivery ends the turn', async (t) => {
  const h = harness({
    deliver: (b, from, to) => {
      h.log.push(`${b.id}[${from},${to})`);
      h.q.close();
    },
  });
  h.q.push({ id: 'a', count: 12 });
  h.q.push({ id: 'b', count: 1 });
  t.same(h.turn(), ['a[0,4)']);
  t.equal(h.turns.length, 0);
});

t.test('options are checked', async (t) => {
  const ok = { budgetMs: 0, sliceRecords: 1, deliver: () => undefined };
  t.throws(() => new BatchQueue({ ...ok, sliceRecords: 0 }), { name: 'RangeError', message: /sliceRecords/ });
  t.throws(() => new BatchQueue({ ...ok, sliceRecords: 1.5 }), { name: 'RangeError', message: /sliceRecords/ });
  t.throws(() => new BatchQueue({ ...ok, budgetMs: -1 }), { name: 'RangeError', message: /budgetMs/ });
  t.throws(() => new BatchQueue({ ...ok, budgetMs: Number.POSITIVE_INFINITY }), { name: 'RangeError', message: /budgetMs/ });
  t.doesNotThrow(() => new BatchQueue(ok));
});

t.test('with the real clock and setImmediate, other callbacks run while a backlog is worked off', async (t) => {
  const busy = (ms: number): void => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  let delivered = 0;
  let deliveredWhenTimerRan = -1;
  const done = new Promise<void>((resolve) => {
    const q = new BatchQueue<Batch>({
      budgetMs: 2,
      sliceRecords: 10,
      deliver: (_b, from, to) => {
        busy(0.5);
        delivered += to - from;
      },
      done: () => resolve(),
    });
    q.push({ id: 'a', count: 1000 });
  });
  setTimeout(() => (deliveredWhenTimerRan = delivered), 0);
  await done;
  t.equal(delivered, 1000);
  t.ok(deliveredWhenTimerRan >= 0 && deliveredWhenTimerRan < 1000, `a timer ran before the backlog was done (after ${deliveredWhenTimerRan} of 1000 records)`);
});
