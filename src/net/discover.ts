/**
 * The I/O half of interface discovery: ask rtnetlink through
 * `ip -j -d addr show` and poll for changes. Polling every 2 s keeps
 * changes visible within the 5 s the agent promises, at the cost of one
 * short-lived process per poll; `ip monitor` would save that but needs its
 * own parser for the event stream, and misses nothing polling would catch.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { interfacesSignature, parseIpAddrJson, type HostInterface } from './interfaces';

const run = promisify(execFile);
export const DEFAULT_POLL_MS = 2_000;

export async function readInterfaces(): Promise<HostInterface[]> {
  const { stdout } = await run('ip', ['-j', '-d', 'addr', 'show'], { maxBuffer: 16 * 1024 * 1024 });
  return parseIpAddrJson(stdout);
}

/** Emits 'change' (HostInterface[]) at start and whenever the set changes; 'error' when ip fails. */
export class InterfaceWatcher extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private signature = '';
  current: HostInterface[] = [];

  constructor(
    private readonly pollMs = DEFAULT_POLL_MS,
    private readonly read: () => Promise<HostInterface[]> = readInterfaces,
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
