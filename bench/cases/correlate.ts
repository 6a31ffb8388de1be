/**
 * Case correlate: correlation, the TypeScript half of the hot path, on one
 * generated journal (lib/journal-gen.ts: 69,000 lines of a host on a
 * network whose cables move; 5,000 with --quick), three ways side by side
 * in every run, each process pinned to one core, the order rotating:
 * - `correlate` js: the correlator alone (workers/correlate.ts: records
 *   parsed before the clock starts, then pass after pass through a fresh
 *   Correlator), receptions per CPU-second;
 * - `correlate-replay` js: `netbeacon replay JOURNAL` as a whole process
 *   (start-up, reading, parsing, correlating, printing), journal lines per
 *   CPU-second of the process (bash's `times`);
 * - `correlate` maas-python: maas_correlate.py, MAAS's protocol code
 *   rewritten (ordered dicts per ULID, aged on every beacon), its journal
 *   parsed before the clock starts: MAAS's beaconReceived alone, answering
 *   each solicitation with an encrypted reply as MAAS does. The same script
 *   without the reply cryptography (replies counted, as replay counts them)
 *   runs too and is reported beside it, for the correlation alone.
 * Every process must print the same hints (those netbeacon replay prints);
 * a run that does not is a failure, not a number.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_JOURNAL, generateJournal } from '../lib/journal-gen';
import { fmtRate, type BenchContext } from '../lib/context';
import { corpusKey, keyHex } from '../lib/inputs';
import { nodeArgv, pinned, runJson, workerScript } from '../lib/proc';
import { repoRoot } from '../lib/paths';
import { PYTHON, pythonScript, pythonUnavailable } from '../lib/python';
import { median, skippedRow, summarize, type CaseResult } from '../lib/result';
import { timed } from './observe';

type Way = 'correlator' | 'replay' | 'maas' | 'maas-count';

/** What the correlator worker reports of its long run. */
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

interface Sample {
  readonly rate: number;
  readonly lineRate: number;
  readonly hintsJson: string;
}

export async function runCorrelate(ctx: BenchContext): Promise<CaseResult[]> {
  const lines = generateJournal(ctx.opts.quick ? { ...DEFAULT_JOURNAL, lines: 5_000 } : DEFAULT_JOURNAL);
  const journal = join(ctx.tmp, 'correlate.jsonl');
  writeFileSync(journal, lines.join(''));
  const receptions = lines.filter((l) => l.includes('"direction":"rx"')).length;
  const seconds = ctx.opts.quick ? 0.3 : 2;
  ctx.log(`correlate: journal of ${lines.length.toLocaleString('en-US')} lines (${receptions.toLocaleString('en-US')} received beacons)`);
  const python = pythonUnavailable();
  const ways: Way[] = python ? ['correlator', 'replay'] : ['correlator', 'replay', 'maas', 'maas-count'];
  const samples = new Map<Way, Sample[]>(ways.map((w) => [w, []]));
  const main = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const key = keyHex(corpusKey());
  let reference: string | undefined;
  const longPasses = ctx.opts.quick ? 4 : 30;
  let memory: Memory | undefined;
  try {
    for (let run = 0; run < ctx.opts.runs; run++) {
      const order = ways.map((_, i) => ways[(i + run) % ways.length]!);
      for (const way of order) {
        const s = await measure(way);
        reference ??= s.hintsJson;
        if (s.hintsJson !== reference) throw new Error(`${way} printed other hints than the first measurement: the ways do not do the same work`);
        samples.get(way)!.push(s);
        ctx.log(`correlate ${way} run ${run + 1}/${ctx.opts.runs}: ${fmtRate(s.rate)} receptions/s, ${fmtRate(s.lineRate)} lines/s`);
      }
    }
  } catch (err) {
    const msg = `failed: ${err instanceof Error ? err.message : String(err)}`;
    return [
      skippedRow('correlate', 'js', 'receptions/s', msg),
      skippedRow('correlate-replay', 'js', 'lines/s', msg),
      skippedRow('correlate', 'maas-python', 'receptions/s', msg),
    ];
  }

  const rates = (w: Way): number[] => samples.get(w)!.map((s) => s.rate);
  const lineRates = (w: Way): number[] => samples.get(w)!.map((s) => s.lineRate);
  const hintCount = reference ? reference.split('\n').filter((l) => l.startsWith('{')).length : 0;
  const journalNote = `${lines.length.toLocaleString('en-US')}-line generated journal, ${hintCount} hints at the end`;
  const correlator: CaseResult = {
    name: 'correlate',
    engine: 'js',
    unit: 'receptions/s',
    ...summarize(rates('correlator')),
    note: `the correlator alone (src/topology/correlate.ts), per CPU-second; ${journalNote}`,
  };
  const replay: CaseResult = {
    name: 'correlate-replay',
    engine: 'js',
    unit: 'lines/s',
    ...summarize(lineRates('replay')),
    note: 'netbeacon replay as a whole process, journal lines per CPU-second',
    details: [`${fmtRate(median(rates('replay')))} received beacons per CPU-second`],
  };
  if (memory) {
    const m = memory;
    Object.assign(correlator, { heapStartMiB: m.heapStartMiB, heapEndMiB: m.heapEndMiB, rssStartMiB: m.rssStartMiB, rssEndMiB: m.rssEndMiB });
    correlator.details = [
      `memory, one correlator over ${m.passes} passes of the journal moved in time (${m.receptions.toLocaleString('en-US')} receptions, every pass's ULIDs new), after GC at pass 2 → pass ${m.passes}: heap ${m.heapStartMiB.toFixed(1)} → ${m.heapEndMiB.toFixed(1)} MiB, RSS ${m.rssStartMiB.toFixed(1)} → ${m.rssEndMiB.toFixed(1)} MiB, hints held ${m.hintsStart} → ${m.hintsEnd}`,
    ];
  }
  const rows: CaseResult[] = [correlator, replay];
  if (python) {
    rows.push(skippedRow('correlate', 'maas-python', 'receptions/s', `skipped: ${python}`));
    return rows;
  }
  const maas: CaseResult = {
    name: 'correlate',
    engine: 'maas-python',
    unit: 'receptions/s',
    ...summarize(rates('maas')),
    maasLineRate: median(lineRates('maas')),
    correlationOnlyRate: median(rates('maas-count')),
    correlationOnlyLineRate: median(lineRates('maas-count')),
    note: "maas_correlate.py: MAAS's beaconReceived rewritten, replies encrypted as MAAS does, per CPU-second",
    details: [
      `${fmtRate(median(lineRates('maas')))} lines/s; without the reply cryptography (replies counted, as replay does): ${fmtRate(median(rates('maas-count')))} receptions/s, ${fmtRate(median(lineRates('maas-count')))} lines/s`,
    ],
  };
  rows.push(maas);
  if (correlator.median && maas.median) Object.assign(correlator, { ratio: correlator.median / maas.median, baseline: 'maas-python' });
  if (replay.median && maas.maasLineRate) Object.assign(replay, { ratio: replay.median / (maas.maasLineRate as number), baseline: 'maas-python lines/s' });
  correlator.details = [
    ...((correlator.details as string[] | undefined) ?? []),
    `${fmtRate(correlator.median! / (maas.correlationOnlyRate as number))}× maas-python without the reply cryptography`,
  ];
  (replay.details as string[]).push(
    `${fmtRate(replay.median! / (maas.correlationOnlyLineRate as number))}× maas-python lines/s without the reply cryptography`,
  );
  return rows;

  async function measure(way: Way): Promise<Sample> {
    if (way === 'correlator') {
      // The long run for memory once, in the first run; the others stop after two passes.
      const argv = nodeArgv(workerScript('correlate'), ['--journal', journal, '--seconds', String(seconds), '--long-passes', String(memory ? 2 : longPasses)]);
      argv.splice(1, 0, '--expose-gc');
      const { value } = await runJson(pinned(argv, ctx.opts.cpu), { timeoutMs: 10 * 60_000 });
      const s = value as unknown as Sample & { memory: Memory };
      memory ??= s.memory;
      return s;
    }
    if (way === 'replay') {
      const r = await timed(pinned([process.execPath, main, 'replay', journal], ctx.opts.cpu), undefined, true);
      if (r.code !== 0) throw new Error(`netbeacon replay exited ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
      if (!(r.cpuSeconds > 0)) throw new Error("no CPU time from bash's times");
      return { rate: receptions / r.cpuSeconds, lineRate: lines.length / r.cpuSeconds, hintsJson: r.stdout };
    }
    const argv = [PYTHON, pythonScript('maas_correlate.py'), journal, '--seconds', String(seconds), ...(way === 'maas' ? ['--key', key] : [])];
    const { value } = await runJson(pinned(argv, ctx.opts.cpu), { timeoutMs: 10 * 60_000 });
    return value as unknown as Sample;
  }
}
