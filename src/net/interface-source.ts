/**
 * Where the agent learns the host's interfaces, decided once (by
 * engine/select.ts, which decides every native-or-JS question) and
 * recorded with why:
 * - netlink: rtnetlink events through the addon (netlink.ts); no process
 *   is started and a change arrives when the kernel makes it;
 * - poll: `ip -j -d addr show` every 2 s (discover.ts), the fallback when
 *   the addon cannot serve.
 * Forced with $NETBEACON_INTERFACES=netlink|poll (default auto); `doctor`
 * and `status` say which one runs.
 */
import type { EventEmitter } from 'node:events';
import {
  chooseInterfaceSource as choose,
  netlinkBlocker,
  parseInterfaceSourceRequest,
  type InterfaceSourceChoice,
  type InterfaceSourceName,
  type InterfaceSourceRequest,
} from '../engine/select';
import type { HostInterface } from '../topology/interfaces';
import { DEFAULT_POLL_MS, InterfaceWatcher, OffThreadReader } from './discover';
import { NetlinkInterfaceWatcher } from './netlink';

export { parseInterfaceSourceRequest, type InterfaceSourceChoice, type InterfaceSourceName, type InterfaceSourceRequest };

/** What both sources offer the daemon: 'change' (HostInterface[]) at start and on every change, 'error' (Error). */
export interface InterfaceSource extends EventEmitter {
  readonly source: InterfaceSourceName;
  readonly current: HostInterface[];
  start(): Promise<HostInterface[]>;
  stop(): void;
  /** Look again now (after a capture said an interface is gone). */
  poll(): Promise<void>;
}

/** engine/select.ts's choice, with $NETBEACON_INTERFACES, the addon as it loads and the poll's period as defaults. */
export function chooseInterfaceSource(
  requested: InterfaceSourceRequest = parseInterfaceSourceRequest(process.env.NETBEACON_INTERFACES),
  unavailable: string | undefined = netlinkBlocker(),
  pollMs = DEFAULT_POLL_MS,
): InterfaceSourceChoice {
  return choose(requested, unavailable, pollMs);
}

/** The watcher for a choice. */
export function createInterfaceSource(choice: InterfaceSourceChoice, pollMs = DEFAULT_POLL_MS): InterfaceSource {
  if (choice.source === 'netlink') return new NetlinkInterfaceWatcher();
  // Polls start `ip` from a worker: starting it on the event loop would hold it (discover.ts).
  const reader = new OffThreadReader();
  return new InterfaceWatcher(pollMs, reader.read, () => reader.close());
}
