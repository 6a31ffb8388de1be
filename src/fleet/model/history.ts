/**
 * The fleet's history: what changed between two models' derived states
 * (each segment's fabric, each interface's placement, each host's
 * presence). Pure; the service stores the changes with the time it saw
 * them.
 */
import { segmentOfKey } from './segment';
import type { DerivedState } from './types';

export type ChangeKind = 'segment_fabric' | 'placement' | 'host_presence';

export interface FleetChange {
  readonly kind: ChangeKind;
  readonly host: string;
  readonly interface: string | null;
  readonly vid: number | null;
  readonly before: string | null;
  readonly after: string | null;
}

export const EMPTY_DERIVED: DerivedState = { fabrics: new Map(), placements: new Map(), presence: new Map() };

function diffMaps<V extends string | null>(
  before: ReadonlyMap<string, V>,
  after: ReadonlyMap<string, V>,
  change: (key: string, was: V | undefined, now: V | undefined) => FleetChange | undefined,
): FleetChange[] {
  const out: FleetChange[] = [];
  if (before === after) return out; // a model that reused the one before's joins shares its maps
  for (const [k, v] of after) {
    const was = before.get(k);
    if (!before.has(k) || was !== v) {
      const c = change(k, was, v);
      if (c) out.push(c);
    }
  }
  for (const [k, v] of before) {
    if (after.has(k)) continue;
    const c = change(k, v, undefined);
    if (c) out.push(c);
  }
  return out;
}

/**
 * The changes from `before` to `after`, in a stable order: presence, then
 * segments, then placements, each by host and interface. A placement that
 * appears as "none" with a new interface is not a change worth a line;
 * the segment's appearance already says the interface is there.
 */
export function diffDerived(before: DerivedState, after: DerivedState): FleetChange[] {
  const presence = diffMaps(before.presence, after.presence, (host, was, now) => ({
    kind: 'host_presence',
    host,
    interface: null,
    vid: null,
    before: was ?? null,
    after: now ?? null,
  }));
  const segments = diffMaps(before.fabrics, after.fabrics, (key, was, now) => {
    const s = segmentOfKey(key);
    return { kind: 'segment_fabric', host: s.host, interface: s.interface, vid: s.vid, before: was ?? null, after: now ?? null };
  });
  const placements = diffMaps(before.placements, after.placements, (key, was, now) => {
    if ((was ?? null) === (now ?? null)) return undefined;
    const [host, ifname] = key.split('\u0000') as [string, string];
    return { kind: 'placement', host, interface: ifname, vid: null, before: was ?? null, after: now ?? null };
  });
  const order = (a: FleetChange, b: FleetChange): number =>
    a.host !== b.host
      ? a.host < b.host
        ? -1
        : 1
      : (a.interface ?? '') !== (b.interface ?? '')
        ? (a.interface ?? '') < (b.interface ?? '')
          ? -1
          : 1
        : (a.vid ?? -1) - (b.vid ?? -1);
  return [...presence.sort(order), ...segments.sort(order), ...placements.sort(order)];
}
