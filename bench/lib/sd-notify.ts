/**
 * A notify socket of our own, standing in for systemd's: the agent is
 * started with NOTIFY_SOCKET pointing at it and reports READY=1, WATCHDOG=1
 * and STOPPING=1 as it would to systemd. scripts/sd-notify-listen.py does
 * the receiving (Node has no Unix datagram sockets) and stamps each message
 * with CLOCK_MONOTONIC, the clock of process.hrtime(). Used by the lifecycle
 * bench case and test/integration/agent-systemd.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths';

export interface Notification {
  /** CLOCK_MONOTONIC seconds when it arrived. */
  readonly t: number;
  /** The datagram, e.g. "READY=1\nSTATUS=capturing". */
  readonly msg: string;
}

/** CLOCK_MONOTONIC now, in seconds: comparable with Notification.t. */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export class NotifySocket {
  readonly messages: Notification[] = [];
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();
  #exited = false;

  private constructor(
    readonly path: string,
    child: ChildProcess,
  ) {
    this.#child = child;
  }

  /** Binds a notify socket at `path`; resolves once it listens. */
  static open(path: string, python = process.env.NETBEACON_BENCH_PYTHON ?? 'python3'): Promise<NotifySocket> {
    const child = spawn(python, [join(repoRoot(), 'scripts', 'sd-notify-listen.py'), path], { stdio: ['pipe', 'pipe', 'pipe'] });
    const sock = new NotifySocket(path, child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve, reject) => {
      let buf = '';
      child.on('error', (err) => reject(new Error(`${python}: ${err.message}`)));
      child.on('exit', (code) => {
        sock.#exited = true;
        for (const w of sock.#waiters) w();
        reject(new Error(`sd-notify-listen.py exited ${code}: ${stderr.trim()}`));
      });
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, nl)) as { bound?: string; t?: number; msg?: string };
          buf = buf.slice(nl + 1);
          if (line.bound !== undefined) resolve(sock);
          else sock.messages.push({ t: line.t!, msg: line.msg! });
          for (const w of sock.#waiters) w();
        }
      });
    });
  }

  /** The first message (from index `from` on) that `pred` accepts; rejects after `ms`. */
  async waitFor(pred: (m: Notification) => boolean, ms: number, from = 0): Promise<Notification> {
    await this.waitUntil((all) => all.slice(from).some(pred), ms);
    return this.messages.slice(from).find(pred)!;
  }

  /** Resolves once `cond` holds for the messages so far; rejects after `ms` or when the listener is gone. */
  waitUntil(cond: (all: readonly Notification[]) => boolean, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const ok = cond(this.messages);
        if (!ok && !this.#exited) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        if (ok) resolve();
        else reject(new Error('the notify socket listener exited'));
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`not told what was awaited in ${ms} ms; got ${JSON.stringify(this.messages.map((x) => x.msg))}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Stops the listener (closing its stdin ends it, and it removes the socket). */
  close(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.stdin!.end();
    });
  }
}

/** Whether a message is (or carries) `assignment`, e.g. "READY=1". */
export function says(assignment: string): (m: Notification) => boolean {
  return (m) => m.msg.split('\n').includes(assignment);
}
