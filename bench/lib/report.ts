/** The printed report: machine, results table, goals table. */
import { fmtRate } from './context';
import type { Machine } from './machine';
import type { CaseResult } from './result';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

export function fmtValue(n: number | null, unit: string): string {
  if (n === null) return '—';
  if (unit === 'MiB' || unit === 'ms' || unit.startsWith('CPU')) return n < 10 ? n.toFixed(2) : n.toFixed(1);
  return fmtRate(n);
}

export function fmtRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

export function formatMachine(m: Machine): string {
  return [
    `netbeacon bench, ${m.date}`,
    `  cpu      ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB`,
    `  node     ${m.node}   kernel ${m.kernel}`,
    `  python   ${m.python}`,
    `  tcpdump  ${m.tcpdump}`,
    `  addon    ${m.addon}`,
    `  commit   ${m.commit}`,
    `  pinning  ${m.taskset}`,
    `  load     ${m.loadAverage} at start, ${m.loadAverageEnd ?? '?'} at end (1-minute averages)${Math.max(m.loadAverage, m.loadAverageEnd ?? 0) > m.cores / 2 ? ': THE MACHINE WAS BUSY, numbers are skewed by other work' : ''}`,
    ...(m.addonRebuiltDuringRun ? ['  WARNING  the addon was rebuilt while the bench ran: native rows may mix two builds'] : []),
  ].join('\n');
}

export function formatTable(rows: readonly CaseResult[]): string {
  const head = ['case', 'engine', 'median', 'min – max', 'unit', 'runs', 'ratio to baseline'];
  const body: string[][] = [];
  const notes = new Map<number, string[]>();
  for (const r of rows) {
    if (r.skipped) {
      body.push([r.name, r.engine, '—', '', r.unit, '0', '']);
      notes.set(body.length - 1, [r.skipped, ...(r.note ? [r.note] : [])]);
      continue;
    }
    const range = r.min === null || r.max === null ? '—' : `${fmtValue(r.min, r.unit)} – ${fmtValue(r.max, r.unit)}`;
    const ratio = r.ratio === undefined ? (r.baseline ? '' : '') : `${fmtRatio(r.ratio)} ${r.baseline ?? ''}`.trim();
    body.push([r.name, r.engine, fmtValue(r.median, r.unit), range, r.unit, String(r.runs), ratio]);
    const extra = [...(r.note ? [r.note] : []), ...((r.details as string[] | undefined) ?? [])];
    if (extra.length) notes.set(body.length - 1, extra);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  widths[6] = Math.min(widths[6]!, 40);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 2 || i === 5 ? lpad(c, widths[i]!) : pad(c, widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w)))];
  body.forEach((b, i) => {
    out.push(line(b));
    for (const n of notes.get(i) ?? []) out.push(`    ${n}`);
  });
  return out.join('\n');
}

export interface Goal {
  readonly goal: string;
  readonly target: string;
  readonly value: string;
  /** true met, false not met, null cannot tell (a side was not measured). */
  readonly met: boolean | null;
  readonly why?: string;
}

function find(rows: readonly CaseResult[], name: string, engine: string): CaseResult | undefined {
  return rows.find((r) => r.name === name && r.engine === engine && !r.skipped && r.median !== null);
}

function ratioGoal(rows: readonly CaseResult[], goal: string, name: string, a: string, b: string, min: number): Goal {
  const x = find(rows, name, a);
  const y = find(rows, name, b);
  if (!x || !y) return { goal, target: `≥ ${min}×`, value: '—', met: null, why: `${!x ? `${name} ${a}` : `${name} ${b}`} not measured` };
  const r = x.median! / y.median!;
  return { goal, target: `≥ ${min}×`, value: fmtRatio(r), met: r >= min };
}

/** The issue's goals, judged from the results. Reported, never asserted. */
export function judgeGoals(rows: readonly CaseResult[]): Goal[] {
  const goals: Goal[] = [];
  goals.push(ratioGoal(rows, 'decode-valid: native / maas-python', 'decode-valid', 'native', 'maas-python', 20));
  {
    const n = find(rows, 'decode-valid', 'native');
    const f = find(rows, 'crypto-floor', 'native');
    const g = 'decode-valid native / crypto-floor';
    if (!n || !f) goals.push({ goal: g, target: '≥ 0.6', value: '—', met: null, why: `${!n ? 'decode-valid native' : 'crypto-floor'} not measured` });
    else {
      const r = n.median! / f.median!;
      goals.push({ goal: g, target: '≥ 0.6', value: r.toFixed(2), met: r >= 0.6 });
    }
  }
  goals.push(ratioGoal(rows, 'decode-valid: js / maas-python', 'decode-valid', 'js', 'maas-python', 3));
  // Issue 3's figures: native verification to the BSON bytes (no BSON step).
  {
    const v = find(rows, 'verify-valid', 'native');
    const p = find(rows, 'decode-valid', 'maas-python');
    const f = find(rows, 'crypto-floor', 'native');
    const g1 = 'verify-valid (to BSON bytes): native / maas-python decode';
    const g2 = 'verify-valid native / crypto-floor';
    if (!v || !p)
      goals.push({ goal: g1, target: '≥ 20×', value: '—', met: null, why: `${!v ? 'verify-valid native' : 'decode-valid maas-python'} not measured` });
    else goals.push({ goal: g1, target: '≥ 20×', value: fmtRatio(v.median! / p.median!), met: v.median! / p.median! >= 20 });
    if (!v || !f) goals.push({ goal: g2, target: '≥ 0.6', value: '—', met: null, why: `${!v ? 'verify-valid native' : 'crypto-floor'} not measured` });
    else goals.push({ goal: g2, target: '≥ 0.6', value: (v.median! / f.median!).toFixed(2), met: v.median! / f.median! >= 0.6 });
  }
  goals.push(ratioGoal(rows, 'decode-forged: native / maas-python', 'decode-forged', 'native', 'maas-python', 40));
  {
    const m = find(rows, 'fleet-map', 'chromium');
    const g = 'fleet-map: 1,000 hosts drawn in Chromium';
    goals.push(
      m
        ? { goal: g, target: '< 3,000 ms', value: `${m.median} ms`, met: m.median! < 3000 }
        : { goal: g, target: '< 3,000 ms', value: '—', met: null, why: 'fleet-map not measured' },
    );
  }
  goals.push(ratioGoal(rows, 'observe (whole process): native / maas-python', 'observe', 'native', 'maas-python', 10));
  goals.push(...correlateGoals(rows));
  // Issue 18's: v3 against v2 on the same payload, and forged v3 on one core.
  {
    const v3 = find(rows, 'decode-valid-v3', 'native');
    const v2 = find(rows, 'decode-valid', 'native');
    const g = 'decode-valid-v3 native / decode-valid native';
    if (!v3 || !v2) goals.push({ goal: g, target: '≥ 3×', value: '—', met: null, why: `${!v3 ? 'decode-valid-v3' : 'decode-valid'} native not measured` });
    else goals.push({ goal: g, target: '≥ 3×', value: fmtRatio(v3.median! / v2.median!), met: v3.median! / v2.median! >= 3 });
    const f = find(rows, 'decode-forged-v3', 'native');
    const gf = 'decode-forged-v3: native (right key id, bad tag)';
    goals.push(
      f
        ? { goal: gf, target: '≥ 3,000,000/s', value: `${fmtRate(f.median!)}/s`, met: f.median! >= 3_000_000 }
        : { goal: gf, target: '≥ 3,000,000/s', value: '—', met: null, why: 'decode-forged-v3 native not measured' },
    );
  }
  {
    const s = find(rows, 'decode-stale', 'native');
    const g = 'decode-stale: native';
    goals.push(
      s
        ? { goal: g, target: '≥ 10,000,000/s', value: `${fmtRate(s.median!)}/s`, met: s.median! >= 10_000_000 }
        : { goal: g, target: '≥ 10,000,000/s', value: '—', met: null, why: 'decode-stale native not measured' },
    );
  }
  {
    const g = 'live-capture at 100,000/s: native / maas-python, native 0 drops';
    const n = find(rows, 'live-capture', 'native');
    const p = find(rows, 'live-capture', 'maas-python');
    if (!n || !p) goals.push({ goal: g, target: '≥ 10×, 0 drops', value: '—', met: null, why: `live-capture ${!n ? 'native' : 'maas-python'} not measured` });
    else {
      const r = n.median! / p.median!;
      const drops = n.drops as number | undefined;
      const sent = n.sentAtGoal as number | null | undefined;
      const value = `${fmtRatio(r)}, ${drops ?? '?'} drops`;
      if (typeof sent === 'number' && sent < 0.95 * 100_000) {
        // The sender could not offer the goal rate here: the ratio is real, the goal untested.
        goals.push({ goal: g, target: '≥ 10×, 0 drops', value, met: null, why: `the sender reached only ${fmtRate(sent)}/s of 100,000/s on this machine` });
      } else goals.push({ goal: g, target: '≥ 10×, 0 drops', value, met: r >= 10 && drops === 0 });
    }
  }
  {
    const g = 'background: native capture CPU';
    const n = find(rows, 'background', 'native');
    const rate = n?.achievedRate as number | undefined;
    goals.push(
      n
        ? { goal: g, target: '≈ 0 (< 1% of a core)', value: `${n.median!.toFixed(2)}%${rate ? ` at ${fmtRate(rate)} frames/s` : ''}`, met: n.median! < 1 }
        : { goal: g, target: '≈ 0 (< 1% of a core)', value: '—', met: null, why: 'background native not measured' },
    );
  }
  goals.push(...manyInterfaceGoals(rows));
  {
    const g = 'interface-events: a change reaches the agent (rtnetlink), worst';
    const n = find(rows, 'interface-events', 'native');
    const worst = n?.worst as number | undefined;
    goals.push(
      n && worst !== undefined
        ? { goal: g, target: '< 100 ms', value: `${worst.toFixed(1)} ms (p50 ${n.median!.toFixed(1)})`, met: worst < 100 }
        : { goal: g, target: '< 100 ms', value: '—', met: null, why: 'interface-events native not measured' },
    );
  }
  for (const [name, engine, goal, target, ok] of [
    ['fleet-ingest', 'postgres', 'fleet ingest with PostgreSQL (one server core)', '≥ 1,000 reports/s', (v: number) => v >= 1000],
    ['fleet-topology', 'sqlite', 'fleet /api/v1/topology, 1,000 hosts (SQLite)', '< 250 ms', (v: number) => v < 250],
    ['fleet-topology', 'postgres', 'fleet /api/v1/topology, 1,000 hosts (PostgreSQL)', '< 250 ms', (v: number) => v < 250],
  ] as const) {
    const r = find(rows, name, engine);
    if (!r) {
      goals.push({ goal, target, value: '—', met: null, why: `${name} ${engine} not measured` });
      continue;
    }
    if (name === 'fleet-ingest') {
      goals.push({ goal, target, value: `${fmtRate(r.median!)}/s per server CPU-s (wall ${fmtRate(r.wall as number)}/s)`, met: ok(r.median!) });
      continue;
    }
    // Under a stream of reports nearly every read computes: the goal is the slowest of the three answers an operator gets.
    const cold = r.coldMs as number;
    const changed = r.changedMs as number;
    const worst = Math.max(r.median!, cold, changed);
    const value = `${worst.toFixed(0)} ms worst (computed: ${r.median!.toFixed(0)} ms; right after a round: ${cold.toFixed(0)} ms; after a rack changed: ${changed.toFixed(0)} ms)`;
    goals.push({ goal, target, value, met: ok(worst) });
  }
  return goals;
}

/** Issue 15's goals: the correlator alone, and replay as a process against MAAS's protocol code. */
function correlateGoals(rows: readonly CaseResult[]): Goal[] {
  const out: Goal[] = [];
  const c = find(rows, 'correlate', 'js');
  const g1 = 'correlate: the correlator alone, one core';
  out.push(
    c
      ? { goal: g1, target: '≥ 1,000,000/s', value: `${fmtRate(c.median!)}/s`, met: c.median! >= 1_000_000 }
      : { goal: g1, target: '≥ 1,000,000/s', value: '—', met: null, why: 'correlate js not measured' },
  );
  // The agent end to end: live-capture's last row (mode end-to-end), correlated/s at the highest zero-drop step.
  const e = rows.find((x) => x.name === 'live-capture' && x.engine === 'native' && x.mode === 'end-to-end' && !x.skipped && x.median !== null);
  const g2 = 'agent end to end (capture, verify, correlate, hints), 0 drops, one core';
  if (!e) out.push({ goal: g2, target: '≥ 300,000/s', value: '—', met: null, why: 'live-capture native end-to-end not measured' });
  else {
    const sent = e.sentAtGoal as number | null | undefined;
    const zdm = e.zeroDropMax as number;
    const value = `${fmtRate(e.median!)}/s (0 drops up to ${fmtRate(zdm)}/s offered)`;
    if (e.median! >= 300_000) out.push({ goal: g2, target: '≥ 300,000/s', value, met: true });
    else if (typeof sent === 'number' && sent < 0.95 * 300_000 && zdm >= 0.95 * sent)
      // It kept up with everything the sender could offer, which was short of the goal: untested.
      out.push({ goal: g2, target: '≥ 300,000/s', value, met: null, why: `the sender reached only ${fmtRate(sent)}/s of 300,000/s and the agent kept up` });
    else out.push({ goal: g2, target: '≥ 300,000/s', value, met: false });
  }
  const r = find(rows, 'correlate-replay', 'js');
  const m = find(rows, 'correlate', 'maas-python');
  const pairs: Array<[string, string]> = [
    ['correlate-replay (whole process) / maas-python (beaconReceived, replies encrypted), lines/s', 'maasLineRate'],
    ['correlate-replay (whole process) / maas-python without reply crypto, lines/s', 'correlationOnlyLineRate'],
  ];
  for (const [goal, field] of pairs) {
    const base = m?.[field] as number | undefined;
    if (!r || !base) out.push({ goal, target: '≥ 10×', value: '—', met: null, why: `${!r ? 'correlate-replay js' : 'correlate maas-python'} not measured` });
    else out.push({ goal, target: '≥ 10×', value: fmtRatio(r.median! / base), met: r.median! / base >= 10 });
  }
  return out;
}

/** Issue 20's goals for the agent on 128 interfaces. */
function manyInterfaceGoals(rows: readonly CaseResult[]): Goal[] {
  const r = rows.find((x) => x.name === 'many-interfaces' && x.interfaces === 128 && !x.skipped && x.median !== null);
  const missing = (goal: string, target: string): Goal => ({ goal, target, value: '—', met: null, why: 'many-interfaces at 128 not measured' });
  if (!r)
    return [
      missing('128 interfaces: RSS', '≤ 150 MiB'),
      missing('128 interfaces: idle CPU', '≈ 0 (< 1% of a core)'),
      missing('128 interfaces: READY=1', '< 2 s'),
      missing('128 interfaces: lost at 10,000 beacons/s', '0'),
    ];
  const idle = r.idleCpuPerMinute as number;
  const ready = r.readyMs as number | null;
  const drops = r.drops as number;
  return [
    { goal: '128 interfaces: RSS', target: '≤ 150 MiB', value: `${r.median!.toFixed(1)} MiB`, met: r.median! <= 150 },
    {
      goal: '128 interfaces: idle CPU',
      target: '≈ 0 (< 1% of a core)',
      value: `${((idle / 60) * 100).toFixed(2)}% (${idle.toFixed(2)} CPU-s/min)`,
      met: idle / 60 < 0.01,
    },
    ready === null
      ? { goal: '128 interfaces: READY=1', target: '< 2 s', value: '—', met: null, why: 'READY=1 not seen' }
      : { goal: '128 interfaces: READY=1', target: '< 2 s', value: `${(ready / 1000).toFixed(2)} s`, met: ready < 2000 },
    { goal: '128 interfaces: lost at 10,000 beacons/s', target: '0', value: String(drops), met: drops === 0 },
  ];
}

export function formatGoals(goals: readonly Goal[]): string {
  const head = ['goal', 'target', 'value', 'verdict'];
  const body = goals.map((g) => [g.goal, g.target, g.value, g.met === null ? `not judged: ${g.why ?? '?'}` : g.met ? 'met' : 'NOT MET']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === 3 ? 0 : b[i]!.length))));
  const line = (c: readonly string[]): string =>
    c
      .map((x, i) => (i === 3 ? x : pad(x, widths[i]!)))
      .join('  ')
      .trimEnd();
  return ['goals (reported, not asserted):', line(head), line(widths.map((w, i) => '-'.repeat(i === 3 ? 7 : w))), ...body.map(line)].join('\n');
}
