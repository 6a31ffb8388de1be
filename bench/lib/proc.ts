/**
 * Child processes of the bench: workers pinned to one core, their JSON
 * answers, and the clean-up that must run however the bench ends (Ctrl-C,
 * a thrown error, a normal exit): children killed by their own process
 * group id, then namespaces deleted.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

// ---------------------------------------------------------------- clean-up

const cleanups: Array<() => void> = [];
let installed = false;
let cleaning = false;

/** Registers a synchronous clean-up step; returns a function that runs it early (once). */
export function onCleanup(fn: () => void): () => void {
  installCleanupHandlers();
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    const i = cleanups.indexOf(once);
    if (i >= 0) cleanups.splice(i, 1);
    try {
      fn();
    } catch (err) {
      process.stderr.write(`bench: clean-up step failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
  cleanups.push(once);
  return once;
}

export function runCleanups(): void {
  if (cleaning) return;
  cleaning = true;
  // Last registered first: children before the namespaces they live in.
  while (cleanups.length > 0) cleanups[cleanups.length - 1]!();
  cleaning = false;
}

function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: cleaning up\n`);
      runCleanups();
      process.exit(code);
    });
  }
}

// ---------------------------------------------------------------- children

/** A worker script next to this file's directory, with the running file's extension (.js built, .ts under a loader). */
export function workerScript(name: string): string {
  return join(__dirname, '..', 'workers', name + extname(__filename));
}

/** Argv that runs a worker script with this Node and its loader flags. */
export function nodeArgv(script: string, args: readonly string[]): string[] {
  return [process.execPath, ...process.execArgv, script, ...args];
}

let tasksetPath: string | null | undefined;
export function taskset(): string | null {
  if (tasksetPath === undefined) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetPath = !r.error && r.status === 0 ? 'taskset' : null;
  }
  return tasksetPath;
}

/** Prefixes argv with `taskset -c cpu` when taskset works here. */
export function pinned(argv: readonly string[], cpu: number | undefined): string[] {
  const ts = taskset();
  return cpu === undefined || ts === null ? [...argv] : [ts, '-c', String(cpu), ...argv];
}

/** Prefixes argv with `ip netns exec ns`. */
export function inNamespace(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/**
 * Spawns a child in its own process group and registers it for clean-up:
 * the group is killed (by its id) if the bench ends first.
 */
export function spawnTracked(argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...opts, detached: true });
  const stop = onCleanup(() => killGroup(child, 'SIGKILL'));
  child.once('exit', () => stop());
  return child;
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

export interface JsonRun {
  readonly value: Record<string, unknown>;
  readonly stderr: string;
}

/**
 * Runs argv to completion and returns the last JSON line of its stdout.
 * Fails with the child's stderr when it exits non-zero or prints no JSON.
 */
export function runJson(argv: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<JsonRun> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(argv, { env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop();
      if (code !== 0 || !line) {
        const why = stderr.trim().split('\n').slice(-6).join('\n') || '(no stderr)';
        reject(new Error(`${shortCommand(argv)} exited ${code ?? signal}: ${why}`));
        return;
      }
      try {
        resolve({ value: JSON.parse(line) as Record<string, unknown>, stderr });
      } catch (err) {
        reject(new Error(`${shortCommand(argv)} printed bad JSON: ${(err as Error).message}`));
      }
    });
  });
}

function shortCommand(argv: readonly string[]): string {
  return argv
    .filter((a) => !a.startsWith('--import') && !a.startsWith('--loader') && !a.startsWith('--require'))
    .map((a) => (a.length > 60 ? '…' + a.slice(-40) : a))
    .join(' ');
}

// ---------------------------------------------------------------- /proc

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    clkTck = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/** utime + stime of one process (all its threads), in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const t = cpuTimes(pid);
  return t === undefined ? undefined : t.user + t.sys;
}

/** utime and stime of one process (all its threads), in seconds, apart; undefined once it is gone. */
export function cpuTimes(pid: number): { user: number; sys: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) ... utime(14) stime(15), i.e. index 11 and 12 here.
  return { user: Number(fields[11]) / ticksPerSecond(), sys: Number(fields[12]) / ticksPerSecond() };
}

/** The pid and every live descendant of it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [root];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const text = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      /* exited while we looked */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** The command name of a process (for labelling CPU use), or '?'. */
export function commName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
