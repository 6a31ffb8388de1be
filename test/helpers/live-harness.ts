/** Drives test/helpers/live-receiver.ts inside a namespace and collects what it reports. */
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { tcpdumpAvailable } from '../../src/capture/live-open';
import type { LiveEngineName, RingStats, SharedRingStats } from '../../src/capture/live';
import { loadBinding } from '../../src/engine/binding';
import { cliCommand } from './cli';
import { jsonLines, nodeInNs } from './netns';

/**
 * The receiver and sender are plain JS over the compiled dist/ (fast to
 * start); cliCommand() refuses a dist/ older than src/.
 */
function jsHelper(script: string): string {
  cliCommand();
  return script;
}

/** The live engines that can run here; says why any is left out (and fails in CI if tcpdump is missing). */
export function liveEngines(t: { fail(msg: string): void }): LiveEngineName[] {
  const engines: LiveEngineName[] = [];
  const native = loadBinding();
  if (native.ok) engines.push('native');
  else console.log(`# native live engine not tested: ${native.detail}`);
  if (tcpdumpAvailable()) engines.push('tcpdump');
  else if (process.env.CI) t.fail('tcpdump is not installed; CI must install it');
  else console.log('# tcpdump live engine not tested: tcpdump is not installed');
  engines.push('udp');
  return engines;
}

export const RECEIVER = resolve(__dirname, 'live-receiver.js');
export const SENDER = resolve(__dirname, 'live-sender.js');

export interface RxRecord {
  event: 'record';
  interface: string;
  vid?: number;
  outerVid?: number;
  sourceMac: string;
  sourceIp: string;
  destinationIp: string;
  ok: boolean;
  reason?: string;
  type?: string;
  ulid?: string;
}

export class Receiver {
  readonly events: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    jsonLines(child, (e) => {
      this.events.push(e);
      for (const w of this.waiters) w();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }

  static start(ns: string, engine: string, keyHex: string, ifnames: string[], env: NodeJS.ProcessEnv = {}): Receiver {
    return new Receiver(nodeInNs(ns, jsHelper(RECEIVER), [engine, keyHex, ...ifnames], env, false));
  }

  get records(): RxRecord[] {
    return this.events.filter((e) => e.event === 'record') as unknown as RxRecord[];
  }

  /** Resolves when pred() holds; rejects after timeoutMs with what was seen. */
  waitFor(what: string, pred: () => boolean, timeoutMs = 120_000): Promise<void> {
    return new Promise((resolveWait, reject) => {
      const check = (): boolean => {
        const fatal = this.events.find((e) => e.event === 'fatal');
        if (fatal) {
          done();
          reject(new Error(`receiver failed: ${String(fatal.message)}\n${this.stderr}`));
          return true;
        }
        if (pred()) {
          done();
          resolveWait();
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events).slice(0, 3000)}\nstderr: ${this.stderr}`));
      }, timeoutMs);
      const waiter = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.waiters.push(waiter);
      void this.exited.then(() => setTimeout(() => check() || (done(), reject(new Error(`receiver exited while waiting for ${what}: ${this.stderr}`))), 50));
    });
  }

  ready(): Promise<void> {
    // The receiver is a TypeScript script started under tap's loader: on a
    // loaded 2-core machine compiling it alone can take tens of seconds.
    return this.waitFor('ready', () => this.events.some((e) => e.event === 'ready'), 90_000);
  }

  command(cmd: 'stats' | 'close' | `add ${string}` | `remove ${string}`): void {
    this.child.stdin!.write(cmd + '\n');
  }

  /** Closes the capture; resolves with the final stats. */
  async close(): Promise<Record<string, RingStats>> {
    this.command('close');
    await this.waitFor('closed', () => this.events.some((e) => e.event === 'closed'));
    this.child.stdin!.end();
    await this.exited;
    const stats = this.events.filter((e) => e.event === 'stats').pop();
    return (stats?.stats ?? {}) as Record<string, RingStats>;
  }

  /** The native capture's shared ring, as the last stats event gave it. */
  lastRing(): SharedRingStats | undefined {
    const stats = this.events.filter((e) => e.event === 'stats').pop();
    return stats?.ring as SharedRingStats | undefined;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs the sender script in a namespace; resolves when it has sent everything. */
export function runSender(ns: string, actions: unknown[]): Promise<void> {
  const child = nodeInNs(ns, jsHelper(SENDER), [JSON.stringify(actions)], {}, false);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  return new Promise((resolveSend, reject) => child.on('close', (code) => (code === 0 ? resolveSend() : reject(new Error(`sender exited ${code}: ${err}`)))));
}
