/**
 * The live set-up shared by live-capture and background: the namespaces,
 * the flood sender inside the sender namespace, and the three receivers
 * inside the receiver namespace (netbeacon native, netbeacon JS through
 * tcpdump, and maas-python: tcpdump piped into maas_observe.py), each
 * pinned to the measured core with everything it runs.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { loadBinding } from '../../src/engine/binding';
import { MAAS_FILTER } from '../../src/capture/live-tcpdump';
import type { Link } from './netns';
import { inNamespace, killGroup, nodeArgv, pinned, spawnTracked, workerScript } from './proc';
import { PYTHON, pythonScript, pythonUnavailable } from './python';
import type { EngineLabel } from './result';

// ------------------------------------------------------------ JSON lines

/** A child that prints one JSON object a line; lines are queued for whoever waits. */
export class JsonLines {
  private buf = '';
  private readonly queue: Record<string, unknown>[] = [];
  private waiters: Array<(v: Record<string, unknown> | null) => void> = [];
  stderr = '';
  closed = false;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let v: Record<string, unknown>;
        try {
          v = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        const w = this.waiters.shift();
        if (w) w(v);
        else this.queue.push(v);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-16000)));
    child.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w(null);
      this.waiters = [];
    });
  }

  /** The next line (null if the child ended first), failing after timeoutMs. */
  next(timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error(`${what}: the process ended: ${this.lastError()}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${what}: no answer within ${timeoutMs} ms: ${this.lastError()}`));
      }, timeoutMs);
      const waiter = (v: Record<string, unknown> | null): void => {
        clearTimeout(timer);
        if (v) resolve(v);
        else reject(new Error(`${what}: the process ended: ${this.lastError()}`));
      };
      this.waiters.push(waiter);
    });
  }

  /** Drops queued lines, so that the next one is fresh. */
  flush(): void {
    this.queue.length = 0;
  }

  lastError(): string {
    return this.stderr.trim().split('\n').slice(-4).join(' | ') || '(no stderr)';
  }
}

// ------------------------------------------------------------ the sender

export interface SendResult {
  sent: number;
  seconds: number;
  rate: number;
  errors: number;
  lastError: string;
  txDropped: number;
}

export class Flood {
  private constructor(private readonly io: JsonLines) {}

  /** Why the flood cannot run (the addon's raw send is needed), or null. */
  static unavailable(): string | null {
    const s = loadBinding();
    if (!s.ok) return `not available: the native addon, whose raw sendFrames floods the link, is not loaded (${s.why}): ${s.detail}`;
    if (typeof s.binding.sendFrames !== 'function') return 'not available yet: the addon has no sendFrames export (rebuild it: npm run build:native)';
    return null;
  }

  /** Starts the sender and resolves once it has loaded the addon. */
  static async start(link: Pick<Link, 'nsS' | 'ifS'>, cpu: number | undefined): Promise<Flood> {
    const child = spawnTracked(inNamespace(link.nsS, pinned(nodeArgv(workerScript('flood'), ['--if', link.ifS]), cpu)));
    const flood = new Flood(new JsonLines(child));
    try {
      await flood.io.next(30_000, 'flood start');
    } catch (err) {
      killGroup(child, 'SIGKILL');
      throw err;
    }
    return flood;
  }

  async request(cmd: Record<string, unknown>, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    this.io.child.stdin!.write(JSON.stringify(cmd) + '\n');
    const r = await this.io.next(timeoutMs, `flood ${String(cmd.cmd)}`);
    if (r.ok !== true) throw new Error(`flood ${String(cmd.cmd)}: ${String(r.error)}`);
    return r;
  }

  async send(rate: number, seconds: number): Promise<SendResult> {
    return (await this.request({ cmd: 'send', rate, seconds }, (seconds + 60) * 1000)) as unknown as SendResult;
  }

  async stop(): Promise<void> {
    try {
      await this.request({ cmd: 'exit' }, 5000);
    } catch {
      /* killed below */
    }
    killGroup(this.io.child, 'SIGKILL');
  }
}

// ------------------------------------------------------------ receivers

export interface ReceiverStats {
  beacons: number;
  rejected: number;
  packets: number;
  /** Ring drops the receiver knows of (native only; the tcpdump engines learn theirs at exit). */
  drops: number;
  reasons?: Record<string, number>;
  /** With the agent (end to end): beacons its correlator took as new (not dropped, a replay, own or a duplicate). */
  correlated?: number;
  /** With the agent: the interface's ring drops plus the shared ring's. */
  ringDrops?: number;
  replays?: number;
  duplicates?: number;
  /** With the agent: dropped by the correlator, by reason. */
  dropped?: Record<string, number>;
  /** With the agent: hints held now. */
  hints?: number;
}

export interface ReceiverOptions {
  /** The real agent daemon around the capture (native or js engine): capture, verify, correlate, hints. */
  readonly agent?: boolean;
  /** Node flags for the receiver worker (not maas-python), e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
}

function tcpdumpUnavailable(): string | null {
  const r = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' });
  return r.error || r.status !== 0 ? 'tcpdump is not installed (apt-get install tcpdump)' : null;
}

/** Why a live receiver cannot run here, or null. */
export function receiverUnavailable(engine: EngineLabel): string | null {
  if (engine === 'native') {
    const s = loadBinding();
    if (!s.ok) return `the native addon is not available (${s.why}): ${s.detail}`;
    if (typeof s.binding.NativeCapture !== 'function') return 'not available yet: the addon has no NativeCapture export (rebuild it: npm run build:native)';
    return null;
  }
  if (engine === 'js') return tcpdumpUnavailable();
  return pythonUnavailable() ?? tcpdumpUnavailable();
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class LiveReceiver {
  private constructor(
    readonly engine: EngineLabel,
    private readonly io: JsonLines,
  ) {}

  get pid(): number {
    return this.io.child.pid!;
  }

  /** Starts the receiver on the link's receiving end and resolves once it is capturing. */
  static async start(engine: EngineLabel, link: Link, keyHex: string, cpu: number, intervalMs: number, opts: ReceiverOptions = {}): Promise<LiveReceiver> {
    let argv: string[];
    if (engine === 'maas-python') {
      // MAAS's beacon monitor: tcpdump writing pcap to a pipe, read by Python.
      const tcpdump = [
        'tcpdump',
        '--interface',
        link.ifR,
        '--no-promiscuous-mode',
        '--packet-buffered',
        '--immediate-mode',
        '--snapshot-length',
        '16384',
        '-n',
        '--direction=in',
        '-w',
        '-',
        MAAS_FILTER,
      ];
      const py = [PYTHON, pythonScript('maas_observe.py'), '--key', keyHex, '--interval', String(intervalMs)];
      argv = ['sh', '-c', `${tcpdump.map(shQuote).join(' ')} | ${py.map(shQuote).join(' ')}`];
    } else {
      argv = nodeArgv(workerScript('live-receiver'), [
        '--engine',
        engine === 'native' ? 'native' : 'tcpdump',
        '--if',
        link.ifR,
        '--key',
        keyHex,
        '--interval',
        String(intervalMs),
        ...(opts.agent ? ['--agent'] : []),
      ]);
      if (opts.nodeFlags?.length) argv.splice(1, 0, ...opts.nodeFlags);
    }
    const child = spawnTracked(inNamespace(link.nsR, pinned(argv, cpu)));
    const rx = new LiveReceiver(engine, new JsonLines(child));
    if (engine === 'maas-python') {
      // Capturing once tcpdump says so, and Python is up once it reports.
      const deadline = Date.now() + 15_000;
      while (!/listening on/.test(rx.io.stderr)) {
        if (rx.io.closed || Date.now() > deadline) {
          await rx.stop();
          throw new Error(`maas-python receiver did not start: ${rx.io.lastError()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await rx.io.next(15_000, 'maas-python receiver');
    } else {
      const first = await rx.io.next(15_000, `${engine} receiver`);
      if (first.event !== 'ready') {
        await rx.stop();
        throw new Error(`${engine} receiver: ${JSON.stringify(first)}`);
      }
    }
    return rx;
  }

  /** The next stats report (the receiver reports every interval). */
  async next(): Promise<ReceiverStats> {
    for (;;) {
      const v = await this.io.next(10_000, `${this.engine} receiver stats`);
      if (v.event === 'stats') return v as unknown as ReceiverStats;
    }
  }

  /** A report made after this call. */
  async fresh(): Promise<ReceiverStats> {
    this.io.flush();
    await this.next();
    return this.next();
  }

  /** Stops the receiver; returns the kernel drops tcpdump reported, when there was a tcpdump to ask. */
  async stop(): Promise<{ kernelDrops?: number }> {
    const child = this.io.child;
    if (!this.io.closed) {
      const closed = new Promise<void>((r) => child.once('close', () => r()));
      if (this.engine === 'maas-python') killGroup(child, 'SIGTERM');
      else child.stdin!.end('close\n');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await closed;
      clearTimeout(t);
    }
    const m = /(\d+) packets? dropped by kernel/.exec(this.io.stderr);
    return m ? { kernelDrops: Number(m[1]) } : {};
  }
}
