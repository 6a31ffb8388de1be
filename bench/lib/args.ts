/** The bench's command line. */
import { CASE_NAMES, type CaseName } from './result';

export interface BenchOptions {
  readonly quick: boolean;
  readonly json?: string;
  readonly only: ReadonlySet<CaseName>;
  /** Runs per measurement (medians are over these). */
  readonly runs: number;
  /** The core every measured process is pinned to. */
  readonly cpu: number;
  readonly help: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--json FILE] [--only CASE[,CASE...]] [--runs N] [--cpu N]

Benchmarks netbeacon's engines against a MAAS-equivalent Python baseline and
prints a table (median, min-max, ratio to baseline) and the goals table.

  --quick        every case, briefly (a smoke test of the harness; numbers are rough)
  --json FILE    also write the results as JSON to FILE
  --only LIST    run only these cases (comma-separated); "decode", "v3", "memory",
                 "lifecycle", "correlate" and "fleet" name their groups. Cases: ${CASE_NAMES.join(', ')}
  --runs N       runs per measurement (default 5, 3 with --quick)
  --cpu N        the core measured processes are pinned to with taskset (default 1,
                 or 0 on a single-core machine)
  --help         this text

live-capture, background and lifecycle need root (they make network namespaces);
latency needs the agent daemon; the fleet cases' PostgreSQL rows need root and
Debian's postgresql (a throw-away cluster run as the postgres user); fleet-map
needs Debian's chromium. Cases that cannot run say why instead of a number.`;

const GROUPS: Readonly<Record<string, readonly CaseName[]>> = {
  decode: [
    'decode-valid',
    'verify-valid',
    'decode-forged',
    'decode-stale',
    'decode-garbage',
    'decode-valid-v3',
    'verify-valid-v3',
    'decode-forged-v3',
    'decode-wrongkey-v3',
  ],
  v3: ['decode-valid', 'verify-valid', 'decode-forged', 'decode-valid-v3', 'verify-valid-v3', 'decode-forged-v3', 'decode-wrongkey-v3'],
  memory: ['memory-forged', 'memory-valid'],
  fleet: ['fleet-ingest', 'fleet-topology', 'fleet-memory'],
  correlate: ['correlate', 'correlate-replay'],
  lifecycle: ['start-to-ready', 'sigterm-to-exit'],
};

export class ArgError extends Error {}

export function parseArgs(argv: readonly string[], cores: number): BenchOptions {
  let quick = false;
  let json: string | undefined;
  let only: Set<CaseName> | undefined;
  let runs: number | undefined;
  let cpu = cores > 1 ? 1 : 0;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ArgError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--json':
        json = value();
        break;
      case '--only':
        only = parseOnly(value());
        break;
      case '--runs':
        runs = positiveInt(flag, value());
        break;
      case '--cpu': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n >= cores) throw new ArgError(`--cpu must be a core from 0 to ${cores - 1}, got "${v}"`);
        cpu = n;
        break;
      }
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new ArgError(`unknown argument "${a}" (see --help)`);
    }
  }
  const result: BenchOptions = { quick, only: only ?? new Set(CASE_NAMES), runs: runs ?? (quick ? 3 : 5), cpu, help };
  return json === undefined ? result : { ...result, json };
}

function parseOnly(list: string): Set<CaseName> {
  const out = new Set<CaseName>();
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    const group = GROUPS[name];
    if (group) group.forEach((c) => out.add(c));
    else if ((CASE_NAMES as readonly string[]).includes(name)) out.add(name as CaseName);
    else throw new ArgError(`--only: unknown case "${name}" (cases: ${CASE_NAMES.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')})`);
  }
  if (out.size === 0) throw new ArgError('--only names no case');
  return out;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ArgError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}
