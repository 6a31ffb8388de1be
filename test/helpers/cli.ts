/**
 * Runs the real `netbeacon` command in a child process. Children run the
 * compiled dist/ (npm test builds it first): starting the TypeScript
 * sources under a loader costs seconds per process, the compiled files a
 * tenth of one, and coverage still maps back to src/ through the source
 * maps. A dist/ older than src/ is refused, so a test never runs stale code.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function newest(dir: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

let checked = false;
function checkBuilt(): void {
  if (checked) return;
  let built = 0;
  try {
    built = newest(join(ROOT, 'dist', 'src'), '.js');
  } catch {
    /* no dist at all */
  }
  if (built < newest(join(ROOT, 'src'), '.ts')) throw new Error('dist/ is missing or older than src/: run `npm run build:ts` (npm test does)');
  checked = true;
}

/** argv that starts the compiled CLI: [node, main.js]. */
export function cliCommand(): string[] {
  checkBuilt();
  return [process.execPath, MAIN];
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { input?: Uint8Array | string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const [node, main] = cliCommand();
  return new Promise((resolveRun, reject) => {
    const child = spawn(node!, [main!, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolveRun({ status, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
