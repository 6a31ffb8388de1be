/**
 * Where the agent learns the host's interfaces, decided once and recorded
 * with why, as engine/select.ts does for the hot path:
 * - netlink: rtnetlink events through the addon (netlink.ts); no process
 *   is started and a change arrives when the kernel makes it;
 * - poll: `ip -j -d addr show` every 2 s (discover.ts), the fallback when
 *   the addon cannot serve.
 * Forced with $NETBEACON_INTERFACES=netlink|poll (default auto); `doctor`
 * and `status` say which one runs.
 */
import type { EventEmitter } from 'node:events';
import { UsageError } from '../errors';
import type { HostInterface } from '../topology/interfaces';
import { DEFAULT_POLL_MS, InterfaceWatcher, OffThreadReader } from './discover';
import { netlinkWatcherCtor, NetlinkInterfaceWatcher } from './netlink';

export type InterfaceSourceName = 'netlink' | 'poll';
export type InterfaceSourceRequest = InterfaceSourceName | 'auto';
const REQUESTS: readonly InterfaceSourceRequest[] = ['auto', 'netlink', 'poll'];

export interface InterfaceSourceChoice {
  readonly source: InterfaceSourceName;
  readonly requested: InterfaceSourceRequest;
  /** One sentence an operator can act on. */
  readonly why: string;
}

/** What both sources offer the daemon: 'change' (HostInterface[]) at start and on every change, 'error' (Error). */
export interface InterfaceSource extends EventEmitter {
  readonly source: InterfaceSourceName;
  readonly current: HostInterface[];
  start(): Promise<HostInterface[]>;
  stop(): void;
  /** Look again now (after a capture said an interface is gone). */
  poll(): Promise<void>;
}

export function parseInterfaceSourceRequest(value: string | undefined): InterfaceSourceRequest {
  const v = value === undefined || value === '' ? 'auto' : value;
  if ((REQUESTS as readonly string[]).includes(v)) return v as InterfaceSourceRequest;
  throw new UsageError('E_INTERFACES_SOURCE', `NETBEACON_INTERFACES: must be one of ${REQUESTS.join(', ')}, got "${v}"`);
}

/** The source to use; `available` says why the addon's watcher cannot serve (a string) or that it can (undefined). */
export function chooseInterfaceSource(
  requested: InterfaceSourceRequest = parseInterfaceSourceRequest(process.env.NETBEACON_INTERFACES),
  unavailable: string | undefined = netlinkUnavailable(),
  pollMs = DEFAULT_POLL_MS,
): InterfaceSourceChoice {
  const poll = `\`ip -j -d addr show\` every ${pollMs / 1000} s`;
  if (requested === 'poll') return { source: 'poll', requested, why: `${poll}: the poll was requested (NETBEACON_INTERFACES=poll)` };
  if (unavailable === undefined) {
    return { source: 'netlink', requested, why: 'rtnetlink link and address events through the addon (no process is started)' };
  }
  if (requested === 'netlink')
    throw new UsageError('E_INTERFACES_NETLINK', `NETBEACON_INTERFACES=netlink, but the rtnetlink watcher cannot run: ${unavailable}`);
  return { source: 'poll', requested, why: `${poll}, falling back: ${unavailable}` };
}

function netlinkUnavailable(): string | undefined {
  const c = netlinkWatcherCtor();
  return typeof c === 'string' ? c : undefined;
}

/** The watcher for a choice. */
export function createInterfaceSource(choice: InterfaceSourceChoice, pollMs = DEFAULT_POLL_MS): InterfaceSource {
  if (choice.source === 'netlink') return new NetlinkInterfaceWatcher();
  // Polls start `ip` from a worker: starting it on the event loop would hold it (discover.ts).
  const reader = new OffThreadReader();
  return new InterfaceWatcher(pollMs, reader.read, () => reader.close());
}
