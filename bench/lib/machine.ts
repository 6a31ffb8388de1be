/** What the numbers were measured on, printed above the table and kept in the JSON. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from './paths';
import { loadBinding } from '../../src/engine/binding';
import { PYTHON } from './python';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  date: string;
  python: string;
  tcpdump: string;
  addon: string;
  commit: string;
  taskset: string;
  /** 1-minute load average when the bench started: other work on the machine skews every number. */
  loadAverage: number;
  /** Set after the run: the load at the end, and whether the addon was rebuilt while the bench ran. */
  loadAverageEnd?: number;
  addonRebuiltDuringRun?: boolean;
}

function firstLine(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'not found';
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function describeMachine(cpu: number, tasksetOk: boolean): Machine {
  const state = loadBinding();
  const root = repoRoot();
  const head = firstLine(['git', '-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout?.trim()
    ? ' (+ uncommitted changes)'
    : '';
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${process.platform} ${release()}`,
    date: new Date().toISOString(),
    python: `${PYTHON}: ${firstLine([PYTHON, '-c', 'import sys; v=sys.version.split()[0]\ntry:\n import cryptography, bson; print(v, "cryptography", cryptography.__version__)\nexcept Exception as e: print(v, "(no MAAS libraries:", e, ")")'])}, python3-bson ${firstLine(['dpkg-query', '-W', '-f', '${Version}', 'python3-bson'])}`,
    tcpdump: firstLine(['tcpdump', '--version']),
    addon: state.ok ? `loaded (${state.path})` : `not loaded: ${state.why}: ${state.detail}`,
    commit: head + dirty,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    taskset: tasksetOk ? `measured processes pinned to core ${cpu}` : 'taskset not found: processes not pinned',
  };
}
