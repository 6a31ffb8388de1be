/**
 * What every case produces: one row per (case, engine). A row either has
 * numbers (median/min/max over `runs` runs) or says why it has none.
 */

export const CASE_NAMES = [
  'decode-valid',
  'verify-valid',
  'decode-forged',
  'decode-stale',
  'decode-garbage',
  'decode-valid-v3',
  'verify-valid-v3',
  'decode-forged-v3',
  'decode-wrongkey-v3',
  'crypto-floor',
  'seal',
  'live-capture',
  'background',
  'latency',
  'memory-forged',
  'memory-valid',
  'observe',
  'fleet-ingest',
  'fleet-topology',
  'fleet-memory',
  'fleet-map',
  'correlate',
  'correlate-replay',
  'many-interfaces',
  'interface-events',
  'start-to-ready',
  'sigterm-to-exit',
  'cli-startup',
] as const;

export type CaseName = (typeof CASE_NAMES)[number];

/**
 * Engines as the JSON names them: netbeacon's two, and the MAAS-equivalent
 * baseline; cli-startup's rows name how the command was started instead
 * (the installed bin, or npx in a checkout); the fleet cases' rows are its
 * stores, fleet-map's the browser.
 */
export type EngineLabel = 'native' | 'js' | 'maas-python' | 'bin' | 'npx' | 'sqlite' | 'postgres' | 'chromium';

export interface CaseResult {
  name: CaseName;
  engine: EngineLabel;
  unit: string;
  median: number | null;
  min: number | null;
  max: number | null;
  runs: number;
  /** The per-run values the median is taken over. */
  samples?: number[];
  /** median / the baseline's median (what `baseline` names). */
  ratio?: number;
  baseline?: string;
  /** Why this row has no numbers: "not available yet: …", "needs root: …", "skipped: …". */
  skipped?: string;
  /** A short remark printed under the row. */
  note?: string;
  /** Case-specific detail (checkpoints, rate steps, …). */
  [detail: string]: unknown;
}

export function skippedRow(name: CaseName, engine: EngineLabel, unit: string, why: string): CaseResult {
  return { name, engine, unit, median: null, min: null, max: null, runs: 0, skipped: why };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** median, min, max and the samples of a set of runs. */
export function summarize(samples: readonly number[]): Pick<CaseResult, 'median' | 'min' | 'max' | 'runs' | 'samples'> {
  if (samples.length === 0) return { median: null, min: null, max: null, runs: 0, samples: [] };
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), runs: samples.length, samples: [...samples] };
}

/** Sets `ratio` on each row of `rows` against the row of `baselineEngine` (same case). */
export function ratioTo(rows: CaseResult[], baselineEngine: EngineLabel): void {
  const base = rows.find((r) => r.engine === baselineEngine);
  for (const r of rows) {
    if (r === base || !base || base.median === null || r.median === null || base.median === 0) continue;
    r.ratio = r.median / base.median;
    r.baseline = baselineEngine;
  }
}
