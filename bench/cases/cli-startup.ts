/**
 * Case cli-startup: what one `netbeacon` call costs, started the two ways
 * the README mentions, timed as whole processes (`--version`, so that the
 * start is all there is):
 *
 * - bin: `node dist/src/cli/main.js`, what the installed `netbeacon` runs
 *   (npm links it with `#!/usr/bin/env node`; the .deb's /usr/bin/netbeacon
 *   execs /usr/bin/node on it);
 * - npx: `npx netbeacon` in the checkout, as the quick start shows it: npm
 *   starts, resolves the package, then a shell, then the same node.
 *
 * Wall-clock milliseconds (the median), with the CPU the whole process tree
 * used (bash's `times`) in the details. The npx row also says what SIGTERM
 * to npx does to the netbeacon under it: a daemon started through npx does
 * not stop when its supervisor stops npx. npx's first call in a fresh clone
 * installs a link to it into npx's cache (minutes, once): that call is made
 * before the runs and reported apart; --quick skips npx for that reason.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context';
import { repoRoot, vectorsDir } from '../lib/paths';
import { processTree } from '../lib/proc';
import { skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';
import { timed } from './observe';

const UNIT = 'ms';

function argvFor(how: 'bin' | 'npx', args: readonly string[]): string[] {
  return how === 'bin' ? [process.execPath, join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args] : ['npx', 'netbeacon', ...args];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * SIGTERM to npx while it runs a netbeacon that waits (observe on a pipe
 * that stays open), and what became of that netbeacon 2 s later.
 */
async function sigtermThroughNpx(): Promise<string> {
  const child = spawn('npx', ['netbeacon', 'observe', '--input-file', '-', '--secret-file', join(vectorsDir(), 'secret')], {
    cwd: repoRoot(),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const npx = child.pid!;
  let netbeacon: number | undefined;
  try {
    for (let i = 0; i < 600 && netbeacon === undefined; i++) {
      netbeacon = processTree(npx).find((p) => p !== npx && / observe --input-file - /.test(cmdline(p)) && /node/.test(cmdline(p)));
      if (netbeacon === undefined) await sleep(100);
    }
    if (netbeacon === undefined) return 'SIGTERM through npx: not measured (netbeacon did not start under npx in 60 s)';
    const exited = new Promise<string>((res) => child.once('exit', (code, signal) => res(signal ?? String(code))));
    child.kill('SIGTERM');
    const npxEnd = await exited;
    await sleep(2000);
    return alive(netbeacon)
      ? `SIGTERM to npx: npx ended (${npxEnd}); the netbeacon under it (pid ${netbeacon}) was still running 2 s later, orphaned: the signal was not passed on`
      : `SIGTERM to npx: npx ended (${npxEnd}) and so did the netbeacon under it: the signal reached it`;
  } finally {
    if (netbeacon !== undefined && alive(netbeacon)) process.kill(netbeacon, 'SIGKILL');
    child.stdin.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export async function runCliStartup(ctx: BenchContext): Promise<CaseResult[]> {
  const hows: Array<'bin' | 'npx'> = ctx.opts.quick ? ['bin'] : ['bin', 'npx'];
  const wall = new Map<EngineLabel, number[]>(hows.map((h) => [h, []]));
  const cpu = new Map<EngineLabel, number[]>(hows.map((h) => [h, []]));
  const failed = new Map<EngineLabel, string>();
  let firstNpx: string | undefined;
  if (hows.includes('npx')) {
    const first = await timed(argvFor('npx', ['--version']));
    firstNpx = `first npx call (npx's cache as found): ${(first.seconds * 1000).toFixed(0)} ms, exit ${first.code}`;
    ctx.log(`cli-startup: ${firstNpx}`);
    if (first.code !== 0) failed.set('npx', `failed: npx netbeacon --version exited ${first.code}: ${first.stderr.trim().split('\n').pop() ?? ''}`);
  }
  for (let run = 0; run < ctx.opts.runs; run++) {
    const order = hows.map((_, i) => hows[(i + run) % hows.length]!);
    for (const how of order) {
      if (failed.has(how)) continue;
      const r = await timed(argvFor(how, ['--version']));
      if (r.code !== 0 || r.stdout.trim().split('\n').pop() === '') {
        failed.set(how, `failed: exit ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
        continue;
      }
      wall.get(how)!.push(r.seconds * 1000);
      cpu.get(how)!.push(r.cpuSeconds * 1000);
      ctx.log(`cli-startup ${how} run ${run + 1}/${ctx.opts.runs}: ${(r.seconds * 1000).toFixed(0)} ms wall, ${(r.cpuSeconds * 1000).toFixed(0)} ms CPU`);
    }
  }
  const signal = hows.includes('npx') && !failed.has('npx') ? await sigtermThroughNpx() : undefined;
  if (signal) ctx.log(`cli-startup: ${signal}`);
  const rows: CaseResult[] = (['bin', 'npx'] as const).map((how): CaseResult => {
    if (!hows.includes(how))
      return skippedRow('cli-startup', how, UNIT, "skipped: --quick (npx's first call in a fresh clone installs into npx's cache, minutes)");
    if (failed.has(how)) return skippedRow('cli-startup', how, UNIT, failed.get(how)!);
    const c = summarize(cpu.get(how)!);
    return {
      name: 'cli-startup',
      engine: how,
      unit: UNIT,
      ...summarize(wall.get(how)!),
      cpuMs: c.median,
      note:
        how === 'bin' ? '`netbeacon --version` as installed: node dist/src/cli/main.js, wall clock' : '`npx netbeacon --version` in the checkout, wall clock',
      details: [
        `CPU of the whole process tree: ${c.median!.toFixed(0)} ms (runs ${c.min!.toFixed(0)} – ${c.max!.toFixed(0)})`,
        ...(how === 'npx' ? [firstNpx!, signal!] : []),
      ],
    };
  });
  const bin = rows.find((r) => r.engine === 'bin' && r.median !== null);
  const npx = rows.find((r) => r.engine === 'npx' && r.median !== null);
  if (bin && npx) {
    npx.ratio = npx.median! / bin.median!;
    npx.baseline = 'bin';
  }
  return rows;
}
