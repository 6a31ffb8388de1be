/** What every case gets from the runner. */
import type { BenchOptions } from './args';

export interface BenchContext {
  readonly opts: BenchOptions;
  /** A private temporary directory, removed when the bench ends. */
  readonly tmp: string;
  /** The decode inputs file (lib/inputs.ts), shared by every engine's worker. */
  readonly inputsPath: string;
  /** Progress lines go to stderr, so that stdout is only the report. */
  readonly log: (line: string) => void;
}

export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}
