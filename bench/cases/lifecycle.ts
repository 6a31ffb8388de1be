/**
 * Cases start-to-ready and sigterm-to-exit: the agent as systemd runs it
 * (packaging/netbeacon.service: ExecStart's command line with the packaged
 * config, the secret as a credential, Type=notify, the watchdog on), in a
 * namespace of the bench's own with one veth, each run a fresh process
 * pinned to the measured core.
 *
 * start-to-ready: from the spawn until READY=1 reaches the notify socket
 * (scripts/sd-notify-listen.py stamps it with CLOCK_MONOTONIC, the clock of
 * process.hrtime): what `systemctl start netbeacon` waits for. It includes
 * Node's start, loading the CLI and the addon, key derivation, interface
 * discovery, opening the capture (rings, or tcpdump for js), the control
 * socket, the metrics port and the first solicitations.
 *
 * sigterm-to-exit: from kill(SIGTERM) until the process has exited
 * (`systemctl stop`): capture closed, socket removed, log flushed. A run
 * that does not exit 0 with its "stopped (SIGTERM)" line fails the case.
 */
import { copyFileSync, chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context';
import { receiverUnavailable } from '../lib/live';
import { createLink, netnsUnavailable, type Link } from '../lib/netns';
import { repoRoot, vectorsDir } from '../lib/paths';
import { inNamespace, killGroup, pinned, spawnTracked } from '../lib/proc';
import { pythonUnavailable } from '../lib/python';
import { skippedRow, summarize, type CaseName, type CaseResult, type EngineLabel } from '../lib/result';
import { monotonicSeconds, NotifySocket, says } from '../lib/sd-notify';

const UNIT = 'ms';
const ENGINES: readonly EngineLabel[] = ['native', 'js'];
export const LIFECYCLE_CASES = ['start-to-ready', 'sigterm-to-exit'] as const satisfies readonly CaseName[];

/** ExecStart's arguments after /usr/bin/netbeacon, with the packaged config for /etc's. */
export function unitArgs(root = repoRoot()): string[] {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(join(root, 'packaging', 'netbeacon.service'), 'utf8'))?.[1];
  if (!line) throw new Error('packaging/netbeacon.service has no ExecStart=');
  const [, ...args] = line.trim().split(/\s+/);
  return args.map((a) => (a === '/etc/netbeacon/netbeacon.yaml' ? join(root, 'packaging', 'netbeacon.yaml') : a));
}

const settleMs = (ctx: BenchContext): number => (ctx.opts.quick ? 200 : 1000);

interface Sample {
  readyMs: number;
  exitMs: number;
}

async function oneRun(ctx: BenchContext, link: Link, notify: NotifySocket, engine: EngineLabel, creds: string, tag: string): Promise<Sample> {
  const main = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const argv = [process.execPath, main, ...unitArgs(), '--engine', engine, '--socket', join(ctx.tmp, `life-${tag}.sock`)];
  const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '30000000', CREDENTIALS_DIRECTORY: creds };
  delete env.NETBEACON_SECRET_FILE;
  const from = notify.messages.length;
  const t0 = monotonicSeconds();
  const child = spawnTracked(inNamespace(link.nsR, pinned(argv, ctx.opts.cpu)), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-8000)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-8000)));
  const exited = new Promise<{ code: number | null; t: number }>((res) => child.once('exit', (code) => res({ code, t: monotonicSeconds() })));
  try {
    const ready = await Promise.race([
      notify.waitFor(says('READY=1'), 30_000, from),
      exited.then(({ code }) => Promise.reject(new Error(`the agent exited ${code} before READY=1: ${out.trim().split('\n').pop() ?? ''}`))),
    ]);
    const readyMs = (ready.t - t0) * 1000;
    // Let the start-up burst (solicitations, the retry timer) settle, as a running rack would be.
    await new Promise((r) => setTimeout(r, settleMs(ctx)));
    const t1 = monotonicSeconds();
    child.kill('SIGTERM');
    const guard = setTimeout(() => killGroup(child, 'SIGKILL'), 30_000);
    const end = await exited;
    clearTimeout(guard);
    const last = out.trim().split('\n').pop() ?? '';
    if (end.code !== 0 || !last.includes('netbeacon agent stopped (SIGTERM)')) throw new Error(`SIGTERM: exit ${end.code}, last line ${last}`);
    return { readyMs, exitMs: (end.t - t1) * 1000 };
  } finally {
    killGroup(child, 'SIGKILL');
  }
}

export async function runLifecycle(ctx: BenchContext, only: readonly CaseName[]): Promise<CaseResult[]> {
  const blocked = netnsUnavailable() ?? pythonUnavailable();
  if (blocked) return only.flatMap((c) => ENGINES.map((e) => skippedRow(c, e, UNIT, blocked)));
  const usable = ENGINES.filter((e) => receiverUnavailable(e) === null);
  const samples = new Map<EngineLabel, Sample[]>(usable.map((e) => [e, []]));
  const failures = new Map<EngineLabel, string>();
  const creds = join(ctx.tmp, 'credentials');
  mkdirSync(creds, { recursive: true, mode: 0o700 });
  copyFileSync(join(vectorsDir(), 'secret'), join(creds, 'netbeacon-secret'));
  chmodSync(join(creds, 'netbeacon-secret'), 0o400);
  const link = createLink('life');
  const notify = await NotifySocket.open(join(ctx.tmp, 'notify'));
  try {
    for (let run = 0; run < ctx.opts.runs; run++) {
      const order = usable.map((_, i) => usable[(i + run) % usable.length]!);
      for (const engine of order) {
        if (failures.has(engine)) continue;
        try {
          const s = await oneRun(ctx, link, notify, engine, creds, `${run}-${engine}`);
          samples.get(engine)!.push(s);
          ctx.log(
            `lifecycle ${engine} run ${run + 1}/${ctx.opts.runs}: start to READY=1 ${s.readyMs.toFixed(0)} ms, SIGTERM to exit ${s.exitMs.toFixed(0)} ms`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failures.set(engine, msg);
          ctx.log(`lifecycle ${engine} FAILED: ${msg}`);
        }
      }
    }
  } finally {
    await notify.close();
    link.destroy();
  }
  const notes: Record<(typeof LIFECYCLE_CASES)[number], string> = {
    'start-to-ready': 'spawn to READY=1 on the notify socket, as packaging/netbeacon.service starts it (one veth)',
    'sigterm-to-exit': `SIGTERM to process exit, ${settleMs(ctx)} ms after READY=1: capture closed, socket removed, log flushed`,
  };
  return only.flatMap((name) =>
    ENGINES.map((engine): CaseResult => {
      const why = receiverUnavailable(engine);
      if (why) return skippedRow(name, engine, UNIT, `skipped: ${why}`);
      if (failures.has(engine)) return skippedRow(name, engine, UNIT, `failed: ${failures.get(engine)!}`);
      const runs = samples.get(engine)!;
      const values = runs.map((s) => (name === 'start-to-ready' ? s.readyMs : s.exitMs));
      return {
        name,
        engine,
        unit: UNIT,
        ...summarize(values),
        note: `${notes[name as keyof typeof notes]}; ${engine === 'native' ? 'native rings' : 'JS engine through tcpdump'}`,
      };
    }),
  );
}
