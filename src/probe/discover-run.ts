/**
 * The driver of `netbeacon discover`: solicit on every chosen interface
 * (again after `retryMs`, as a MAAS rack repeats a burst in case of loss),
 * listen for `timeoutMs`, and hand everything heard to the DiscoveryBook.
 *
 * What the window catches: every netbeacon or MAAS host sharing our secret
 * answers the solicitation at once; hosts with another secret cannot read
 * it, so they show up only if they beacon on their own during the window
 * (a MAAS rack solicits every 30 s: a window of 31 s is sure to catch one).
 */
import { DiscoveryBook, type DiscoveredHost, type DiscoveryStats } from './discover-book';
import { sleep, type ProbeSession } from './session';

export interface DiscoverResult {
  readonly interfaces: readonly string[];
  readonly hosts: readonly DiscoveredHost[];
  readonly stats: DiscoveryStats & { readonly solicitations: number; readonly send_failures: readonly string[] };
}

export async function runDiscover(s: ProbeSession, timeoutMs: number, retryMs = 3_000): Promise<DiscoverResult> {
  const book = new DiscoveryBook({ localMacs: s.interfaces.map((i) => i.mac).filter((m): m is string => m !== null) });
  const stop = s.onRecord((r) => book.add(r));
  let solicitations = 0;
  const failures: string[] = [];
  const solicit = async (): Promise<void> => {
    for (const iface of s.interfaces) {
      const r = await s.sender.multicast(iface, 'solicitation');
      for (const sent of r.sent) book.noteSent(sent.ulid);
      solicitations += r.sent.length;
      for (const f of r.failed) failures.push(`${f.interface} → ${f.destination}: ${f.error}`);
    }
  };
  const started = Date.now();
  try {
    await solicit();
    if (retryMs < timeoutMs) {
      await sleep(retryMs);
      await solicit();
    }
    await sleep(Math.max(0, timeoutMs - (Date.now() - started)));
  } finally {
    stop();
  }
  return { interfaces: s.interfaces.map((i) => i.name), hosts: book.hosts(), stats: { ...book.stats(), solicitations, send_failures: failures } };
}
