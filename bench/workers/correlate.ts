/**
 * The correlator alone, on one core: a journal is read and parsed before
 * the clock starts, then its records go through a fresh Correlator (tx
 * lines as onTransmit, rx lines as onReceive, and the hints aged before
 * each record, as replay and the agent's timer do) pass after pass, until
 * --seconds of wall time have passed. Then memory over a long run: one
 * Correlator is fed the journal --long-passes times, each pass moved later
 * by the journal's span (ULIDs re-stamped, so every pass's ULIDs are new),
 * with the heap and RSS after a full GC at the end of the second pass (the
 * first moved one: one moved copy of the journal is alive at either point)
 * and of the last: ageing and the bounded queues must hold them flat. Prints
 *   {"receptions", "lines", "passes", "cpuSeconds", "rate" (receptions per CPU-second),
 *    "lineRate", "hints" (held at the end of a pass), "stats", "memory"}.
 * Usage: node --expose-gc correlate.js --journal FILE --seconds S [--long-passes N]
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Correlator } from '../../src/topology/correlate';
import { formatHintsJson } from '../../src/topology/hints';
import { parseJournalLine, type JournalRecord } from '../../src/topology/journal';
import { answer, flag, numberFlag, optionalFlag, workerMain } from '../lib/worker-args';

interface Prepared {
  readonly records: JournalRecord[];
  readonly nowMs: number[];
  readonly receptions: number;
}

function prepare(path: string): Prepared {
  const raw = readFileSync(path);
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8');
  const records: JournalRecord[] = [];
  let line = 0;
  for (const l of text.split('\n')) {
    const r = parseJournalLine(l, { source: path, line: ++line });
    if (r) records.push(r);
  }
  return { records, nowMs: records.map((r) => Math.round(r.time * 1000)), receptions: records.filter((r) => r.direction === 'rx').length };
}

/** One pass over the journal; returns the correlator, for its hints and stats. */
function pass(p: Prepared): Correlator {
  const c = new Correlator();
  feed(c, p);
  return c;
}

function feed(c: Correlator, p: Prepared): void {
  const { records, nowMs } = p;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const now = nowMs[i]!;
    const due = c.nextExpiryMs();
    if (due !== undefined && due <= now) c.expire(now);
    if (r.direction === 'tx') c.onTransmit(r, now);
    else c.onReceive(r, now);
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The ULID with its time part moved by `shiftMs` (the random part kept). */
function restamp(ulid: unknown, shiftMs: number): unknown {
  if (typeof ulid !== 'string' || ulid.length !== 26) return ulid;
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + CROCKFORD.indexOf(ulid[i]!.toUpperCase());
  t += shiftMs;
  let head = '';
  for (let i = 0; i < 10; i++, t = Math.floor(t / 32)) head = CROCKFORD[t % 32]! + head;
  return head + ulid.slice(10);
}

/** The journal moved `shiftMs` later: times and ULIDs (and the ULIDs acknowledged). */
function shifted(p: Prepared, shiftMs: number): Prepared {
  const records = p.records.map((r): JournalRecord => {
    const payload = {
      ...r.payload,
      ulid: restamp(r.payload?.ulid, shiftMs),
      ...(r.payload?.acks === undefined ? {} : { acks: restamp(r.payload.acks, shiftMs) }),
    };
    return r.direction === 'tx'
      ? { ...r, time: r.time + shiftMs / 1000, ulid: restamp(r.ulid, shiftMs) as string, payload }
      : { ...r, time: r.time + shiftMs / 1000, payload };
  });
  return { records, nowMs: p.nowMs.map((n) => n + shiftMs), receptions: p.receptions };
}

interface Memory {
  readonly passes: number;
  readonly receptions: number;
  readonly heapStartMiB: number;
  readonly heapEndMiB: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly hintsStart: number;
  readonly hintsEnd: number;
}

const MiB = 1024 * 1024;

/** One correlator through `passes` (at least 2) shifted copies of the journal; heap and RSS after GC after the second and the last. */
function longRun(p: Prepared, passes: number): Memory {
  passes = Math.max(2, passes);
  const gc = (globalThis as { gc?: () => void }).gc;
  const c = new Correlator();
  const span = p.nowMs.length > 0 ? p.nowMs[p.nowMs.length - 1]! - p.nowMs[0]! + 1000 : 0;
  const at: Array<{ heap: number; rss: number; hints: number }> = [];
  for (let k = 0; k < passes; k++) {
    const q = k === 0 ? p : shifted(p, k * span);
    feed(c, q);
    if (k === 1 || k === passes - 1) {
      gc?.();
      const m = process.memoryUsage();
      at.push({ heap: m.heapUsed / MiB, rss: m.rss / MiB, hints: c.hints().length });
    }
  }
  const first = at[0]!;
  const last = at[at.length - 1]!;
  return {
    passes,
    receptions: p.receptions * passes,
    heapStartMiB: first.heap,
    heapEndMiB: last.heap,
    rssStartMiB: first.rss,
    rssEndMiB: last.rss,
    hintsStart: first.hints,
    hintsEnd: last.hints,
  };
}

workerMain(() => {
  const p = prepare(flag('--journal'));
  const seconds = numberFlag('--seconds');
  // Warm-up: the JIT sees the whole journal once before the clock starts.
  pass(p);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let passes = 0;
  let last: Correlator;
  do {
    last = pass(p);
    passes++;
  } while (process.hrtime.bigint() - t0 < budget);
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const hints = last.hints();
  const memory = longRun(p, Number(optionalFlag('--long-passes') ?? 1));
  answer({
    receptions: p.receptions * passes,
    lines: p.records.length * passes,
    passes,
    cpuSeconds,
    rate: (p.receptions * passes) / cpuSeconds,
    lineRate: (p.records.length * passes) / cpuSeconds,
    hints: hints.length,
    hintsJson: formatHintsJson(hints),
    stats: last.stats(),
    memory,
  });
});
