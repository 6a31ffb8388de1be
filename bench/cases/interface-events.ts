/**
 * Case interface-events: how long an interface change takes to reach the
 * agent (issue 20, part 2). The real agent (`node dist/src/cli/main.js
 * agent`) runs in a namespace of its own, once with its rtnetlink watcher
 * (engine row `native`: the addon's) and once with the `ip` poll it falls
 * back to without the addon (row `js`, NETBEACON_INTERFACES=poll, every
 * 2 s). Each round makes a new veth pair and brings it up, adds an address
 * to it, then takes it down, with `ip`; the bench, subscribed to `watch`,
 * times each from just before `ip` starts until the event (interface_added,
 * interface_changed, interface_removed) arrives: an upper bound, with
 * `ip`'s own start and the control socket in it. The row's median is the
 * median over every change of a run; p99 and the worst are in its details.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request, subscribe } from '../../src/agent/control';
import type { BenchContext } from '../lib/context';
import { netnsUnavailable } from '../lib/netns';
import { repoRoot, vectorsDir } from '../lib/paths';
import { inNamespace, killGroup, onCleanup, pinned, spawnTracked } from '../lib/proc';
import { skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';

const UNIT = 'ms';
const KINDS = ['added', 'address', 'down'] as const;
type Kind = (typeof KINDS)[number];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(argv: readonly string[], input?: string): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input });
  if (r.error || r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runInterfaceEvents(ctx: BenchContext): Promise<CaseResult[]> {
  const engines: EngineLabel[] = ['native', 'js'];
  const main = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const blocked = netnsUnavailable() ?? (existsSync(main) ? null : `needs the built CLI (${main}): run npm run build:ts`);
  if (blocked) return engines.map((e) => skippedRow('interface-events', e, UNIT, blocked));
  const rounds = ctx.opts.quick ? 1 : 15;
  const runs = ctx.opts.quick ? 1 : Math.min(ctx.opts.runs, 3);
  const ns = `nbb-${process.pid}-ie`;
  run(['ip', 'netns', 'add', ns]);
  const destroy = onCleanup(() => void spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }));
  const rows: CaseResult[] = [];
  try {
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    for (const engine of engines) {
      const perRun: number[][] = [];
      const byKind = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
      try {
        for (let r = 0; r < runs; r++) {
          const lat = await oneRun(ctx, ns, engine, rounds, `${engine}-${r}`);
          perRun.push([...lat.values()].flat());
          for (const k of KINDS) byKind.get(k)!.push(...lat.get(k)!);
          const all = [...lat.values()].flat().sort((a, b) => a - b);
          ctx.log(
            `interface-events ${engine} run ${r + 1}/${runs}: p50 ${percentile(all, 50).toFixed(1)} ms, max ${all.at(-1)!.toFixed(1)} ms over ${all.length} changes`,
          );
        }
        const all = [...byKind.values()].flat().sort((a, b) => a - b);
        rows.push({
          name: 'interface-events',
          engine,
          unit: UNIT,
          ...summarize(
            perRun.map((l) =>
              percentile(
                [...l].sort((a, b) => a - b),
                50,
              ),
            ),
          ),
          p99: percentile(all, 99),
          worst: all.at(-1),
          note:
            engine === 'native'
              ? 'rtnetlink events through the addon: median = p50 per run of change-to-watch-event'
              : 'the `ip -j -d addr show` poll every 2 s (NETBEACON_INTERFACES=poll): median = p50 per run; each change follows the last event at once, so it lands near the end of a period',
          details: [
            KINDS.map((k) => {
              const v = [...byKind.get(k)!].sort((a, b) => a - b);
              return `${k === 'added' ? 'new veth' : k === 'address' ? 'address added' : 'link down'} p50 ${percentile(v, 50).toFixed(1)} / max ${v.at(-1)!.toFixed(1)} ms`;
            }).join('; '),
            `all ${all.length} changes: p99 ${percentile(all, 99).toFixed(1)} ms, worst ${all.at(-1)!.toFixed(1)} ms`,
          ],
        });
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        ctx.log(`interface-events ${engine} FAILED: ${msg}`);
        rows.push(skippedRow('interface-events', engine, UNIT, `failed: ${msg}`));
      }
    }
  } finally {
    destroy();
  }
  return rows;
}

async function oneRun(ctx: BenchContext, ns: string, engine: EngineLabel, rounds: number, tag: string): Promise<Map<Kind, number[]>> {
  const sock = join(ctx.tmp, `ie-${tag}.sock`);
  const argv = [
    'env',
    `NETBEACON_INTERFACES=${engine === 'native' ? 'netlink' : 'poll'}`,
    process.execPath,
    join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
    'agent',
    '--secret-file',
    join(vectorsDir(), 'secret'),
    '--socket',
    sock,
    '--log-level',
    'warn',
  ];
  const agent: ChildProcess = spawnTracked(inNamespace(ns, pinned(argv, ctx.opts.cpu)));
  agent.stdout!.resume();
  agent.stderr!.resume();
  const events: Array<{ at: number; e: Record<string, unknown> }> = [];
  let watch: ReturnType<typeof subscribe> | undefined;
  try {
    for (let i = 0; ; i++) {
      try {
        await request(sock, 'status', {}, 2000);
        break;
      } catch {
        if (i > 1200 || agent.exitCode !== null) throw new Error('the agent did not start');
        await sleep(50);
      }
    }
    watch = subscribe(sock, 'watch', (e) => events.push({ at: performance.timeOrigin + performance.now(), e: e as Record<string, unknown> }));
    await sleep(500);
    const out = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
    const waitFor = async (since: number, pred: (e: Record<string, unknown>) => boolean): Promise<number> => {
      const end = Date.now() + 10_000;
      for (;;) {
        const hit = events.find((x) => x.at >= since && pred(x.e));
        if (hit) return hit.at - since;
        if (Date.now() > end) throw new Error('no event within 10 s');
        await sleep(1);
      }
    };
    const now = (): number => performance.timeOrigin + performance.now();
    for (let k = 0; k < rounds; k++) {
      const name = `ev${k}`;
      let t0 = now();
      run(['ip', '-n', ns, '-batch', '-'], `link add ${name} type veth peer name ${name}p\nlink set ${name} up\nlink set ${name}p up\n`);
      out.get('added')!.push(await waitFor(t0, (e) => e.event === 'interface_added' && e.interface === name));
      t0 = now();
      run(['ip', '-n', ns, 'addr', 'add', `10.93.${k}.1/24`, 'dev', name]);
      out
        .get('address')!
        .push(await waitFor(t0, (e) => e.event === 'interface_changed' && e.interface === name && (e.addresses as string[]).includes(`10.93.${k}.1/24`)));
      t0 = now();
      run(['ip', '-n', ns, 'link', 'set', name, 'down']);
      out.get('down')!.push(await waitFor(t0, (e) => e.event === 'interface_removed' && e.interface === name));
      run(['ip', '-n', ns, 'link', 'del', name]);
      await sleep(100);
    }
    return out;
  } finally {
    watch?.close();
    const closed = new Promise<void>((r) => (agent.exitCode !== null ? r() : agent.once('close', () => r())));
    agent.kill('SIGTERM');
    const t = setTimeout(() => killGroup(agent, 'SIGKILL'), 10_000);
    await closed;
    clearTimeout(t);
  }
}
