/**
 * Interface discovery from the kernel's own events: the addon's
 * NetlinkWatcher (native/netlink_napi.cc) subscribes to rtnetlink's link
 * and address groups, dumps both tables at start, and hands over batches
 * of RTM_NEWLINK/DELLINK/NEWADDR/DELADDR, which LinkTable (the pure model)
 * turns into the same HostInterface list `ip -j -d addr show` gives. No
 * process is started and nothing is polled: a change reaches the agent
 * when the kernel makes it (coalesced over 10 ms, at most 50).
 */
import { EventEmitter } from 'node:events';
import { loadBinding, type BindingState } from '../engine/binding';
import { netlinkBlocker } from '../engine/select';
import { interfacesSignature, type HostInterface } from '../topology/interfaces';
import { LinkTable, type RtnlBatch } from '../topology/link-table';

interface NetlinkWatcherHandle {
  resync(): void;
  close(): Promise<void>;
}
type NetlinkWatcherCtor = new (onEvent: (kind: string, arg: unknown) => void) => NetlinkWatcherHandle;

/** The constructor, or why the addon cannot serve (engine/select.ts's netlinkBlocker). */
export function netlinkWatcherCtor(): NetlinkWatcherCtor | string {
  const state = loadBinding();
  const blocked = netlinkBlocker(state);
  if (blocked !== undefined) return blocked;
  return (state as Extract<BindingState, { ok: true }>).binding.NetlinkWatcher as NetlinkWatcherCtor;
}

/** How long start() waits for the first dump. */
const FIRST_DUMP_MS = 10_000;
/** After the watcher's thread stopped on an error, it is started again this much later. */
const RESTART_MS = 1_000;

/**
 * Emits 'change' (HostInterface[]) at start and whenever the set changes
 * (the same signature as the poll's), and 'error' (Error) when the watcher
 * fails; after an error it starts again, from a dump.
 */
export class NetlinkInterfaceWatcher extends EventEmitter {
  readonly source = 'netlink' as const;
  current: HostInterface[] = [];
  /** Batches applied, since the start (for tests and status). */
  batches = 0;
  readonly #ctor: NetlinkWatcherCtor;
  readonly #table = new LinkTable();
  #handle: NetlinkWatcherHandle | undefined;
  #signature = '';
  #dumped = false;
  #firstDump: (() => void) | undefined;
  #restart: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(ctor?: NetlinkWatcherCtor) {
    super();
    const c = ctor ?? netlinkWatcherCtor();
    if (typeof c === 'string') throw new Error(`the rtnetlink watcher is not available: ${c}`);
    this.#ctor = c;
  }

  /** Subscribes and resolves with the interfaces once the first dump is in. */
  async start(): Promise<HostInterface[]> {
    const first = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rtnetlink: no dump of the interfaces within ${FIRST_DUMP_MS / 1000} s`)), FIRST_DUMP_MS);
      this.#firstDump = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#open();
    await first;
    return this.current;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#restart) clearTimeout(this.#restart);
    const h = this.#handle;
    this.#handle = undefined;
    if (h) void h.close();
  }

  /** Dumps again (a capture said an interface is gone: make sure nothing was missed). */
  poll(): Promise<void> {
    this.#handle?.resync();
    return Promise.resolve();
  }

  #open(): void {
    this.#handle = new this.#ctor((kind, arg) => this.#onEvent(kind, arg));
  }

  #onEvent(kind: string, arg: unknown): void {
    if (this.#stopped) return;
    if (kind === 'batch') {
      this.#apply(arg as RtnlBatch);
      return;
    }
    // The watcher's thread stopped: say so, and start afresh from a dump.
    this.emit('error', new Error(String(arg)));
    const h = this.#handle;
    this.#handle = undefined;
    if (h) void h.close();
    this.#restart = setTimeout(() => {
      if (!this.#stopped) this.#open();
    }, RESTART_MS);
    this.#restart.unref();
  }

  #apply(batch: RtnlBatch): void {
    this.#table.apply(batch);
    this.batches++;
    if (batch.malformed > 0) this.emit('error', new Error(`rtnetlink: ${batch.malformed} malformed message(s) skipped`));
    if (batch.reset) this.#dumped = true;
    if (!this.#dumped) return;
    const list = this.#table.interfaces();
    const sig = interfacesSignature(list);
    const first = this.#firstDump;
    this.#firstDump = undefined;
    if (sig !== this.#signature || first) {
      this.#signature = sig;
      this.current = list;
      this.emit('change', list);
    }
    first?.();
  }
}
