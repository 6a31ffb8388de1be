/**
 * The fallback of interface discovery (interface-source.ts decides): ask
 * rtnetlink through `ip -j -d addr show` and poll for changes, every 2 s,
 * at the cost of one short-lived process per poll. The agent uses it only
 * when the addon's rtnetlink watcher (netlink.ts) cannot serve; it polls
 * from a worker thread (OffThreadReader, below). One-shot tools (probe,
 * mtu, vlans) read the interfaces once with readInterfaces().
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { interfacesSignature, parseIpAddrJson, type HostInterface } from '../topology/interfaces';

const run = promisify(execFile);
export const DEFAULT_POLL_MS = 2_000;

const IP_COMMAND: readonly [string, readonly string[]] = ['ip', ['-j', '-d', 'addr', 'show']];
const MAX_OUTPUT = 16 * 1024 * 1024;

export async function readInterfaces(): Promise<HostInterface[]> {
  const { stdout } = await run(IP_COMMAND[0], IP_COMMAND[1], { maxBuffer: MAX_OUTPUT });
  return parseIpAddrJson(stdout);
}

// The worker runs the command and sends back its output; parsing stays here.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { execFile } = require('node:child_process');
parentPort.on('message', ({ id, command, args, maxBuffer }) => {
  execFile(command, args, { maxBuffer }, (err, stdout) => {
    parentPort.postMessage(err ? { id, error: err.message } : { id, stdout });
  });
});
`;

/**
 * readInterfaces, with the process started from a worker thread. Starting
 * a process blocks the thread that starts it until the child has exec'd
 * (libuv reports a failed exec synchronously). On a busy machine that
 * took 10-140 ms (measured in the agent under a 10,000/s flood, on 2 cores
 * shared with one CPU-bound neighbour), and on the agent's event loop,
 * every poll, `status` and the capture waited for it. Here only the worker
 * waits. The worker starts at the first read, keeps the process alive
 * only while a read is under way, and is started again after close() or
 * if it dies.
 */
export class OffThreadReader {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, { resolve: (out: string) => void; reject: (err: Error) => void }>();
  #next = 0;

  constructor(private readonly command: readonly [string, readonly string[]] = IP_COMMAND) {}

  /** For InterfaceWatcher: a function, bound. */
  readonly read = async (): Promise<HostInterface[]> => parseIpAddrJson(await this.#run());

  /** Stops the worker; reads under way are rejected. */
  close(): void {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) void w.terminate();
    this.#fail(new Error('interface reader closed'));
  }

  #run(): Promise<string> {
    const id = this.#next++;
    const w = this.#start();
    w.ref();
    return new Promise<string>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      w.postMessage({ id, command: this.command[0], args: this.command[1], maxBuffer: MAX_OUTPUT });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // No execArgv: the worker needs none of this process's flags (a loader, a profiler).
    const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    w.unref();
    w.on('message', (m: { id: number; stdout?: string; error?: string }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) w.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.stdout ?? '');
    });
    const died = (err: Error): void => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      this.#fail(err);
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`the interface reader's worker exited (${code})`)));
    this.#worker = w;
    return w;
  }

  #fail(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** Emits 'change' (HostInterface[]) at start and whenever the set changes; 'error' when ip fails. */
export class InterfaceWatcher extends EventEmitter {
  readonly source = 'poll' as const;
  private timer: NodeJS.Timeout | undefined;
  private signature = '';
  current: HostInterface[] = [];

  constructor(
    private readonly pollMs = DEFAULT_POLL_MS,
    private readonly read: () => Promise<HostInterface[]> = readInterfaces,
    /** Called by stop(): what the reader holds (a worker) goes. */
    private readonly onStop?: () => void,
  ) {
    super();
  }

  async start(): Promise<HostInterface[]> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
    return this.current;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.onStop?.();
  }

  async poll(): Promise<void> {
    try {
      const list = await this.read();
      const sig = interfacesSignature(list);
      if (sig === this.signature) return;
      this.signature = sig;
      this.current = list;
      this.emit('change', list);
    } catch (err) {
      this.emit('error', err);
    }
  }
}
