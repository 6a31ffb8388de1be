/**
 * Where MAAS's region would put each interface. MAAS's
 * `guess_vlan_from_hints` (metadataserver/builtin_scripts/network.py)
 * considers an interface's hints that carry neither `vid` nor
 * `related_vid`, in order, and takes the VLAN of the first related
 * interface it knows: by MAC (any node) for on_remote_network and
 * routable_to, by name on the same node for same_local_fabric_as and
 * rx_own_beacon_on_other_interface. Here "knows" means "some host
 * reported it", the order is the report's (as MAAS takes the rack's list;
 * an agent sends its hints in MAAS's sort order), and the related
 * interface's VLAN is its fabric's untagged VLAN (or its own VID when it is
 * a VLAN interface). `agrees` compares that with the fleet model's own
 * fabric for the interface: they differ when only a routable_to (which the
 * model does not join on) points elsewhere.
 */
import type { TopologyHint } from '../../topology/hints';
import type { InterfaceRef, SegmentGraph } from './graph';
import { LOCAL_HINTS } from './segment';
import type { FleetHint, FleetPlacement } from './types';

const BY_MAC = new Set(['on_remote_network', 'routable_to']);

/** What placement reads of the graph: the hosts' interfaces by name and by MAC. */
export type PlacementView = Pick<SegmentGraph, 'iface' | 'macs'>;

function relatedInterface(g: PlacementView, host: string, h: TopologyHint): InterfaceRef | undefined {
  if (LOCAL_HINTS.has(h.hint)) return h.related_ifname === undefined ? undefined : g.iface(host, h.related_ifname);
  if (!BY_MAC.has(h.hint) || h.related_mac === undefined) return undefined;
  const all = g.macs.get(h.related_mac);
  if (!all) return undefined;
  // MAAS takes the first interface with the MAC; prefer the one the hint names.
  return all.find((r) => r.iface.name === h.related_ifname) ?? all[0];
}

export function placeInterface(
  g: PlacementView,
  host: string,
  ifname: string,
  hints: readonly TopologyHint[],
  fabricOf: (host: string, ifname: string) => string,
): FleetPlacement {
  let best: { hint: TopologyHint; ref: InterfaceRef } | undefined;
  for (const h of hints) {
    if (h.vid !== undefined || h.related_vid !== undefined) continue;
    const ref = relatedInterface(g, host, h);
    if (ref) {
      best = { hint: h, ref };
      break;
    }
  }
  const own = fabricOf(host, ifname);
  if (!best) {
    return {
      host,
      interface: ifname,
      fabric: null,
      vid: null,
      via: null,
      agrees: false,
      reason: `no hint from ${ifname} without a VID names an interface the fleet knows: MAAS would make a new fabric for it (the fleet has it on ${own})`,
    };
  }
  const { ref, hint } = best;
  const fabric = fabricOf(ref.host, ref.iface.name);
  const vid = ref.iface.vid ?? null;
  const where = `${fabric} ${vid === null ? 'untagged' : `VLAN ${vid}`}`;
  const named = ref.host === host && LOCAL_HINTS.has(hint.hint) ? `${ref.host}/${ref.iface.name}` : `${ref.host}/${ref.iface.name} (${hint.related_mac})`;
  const agrees = fabric === own;
  const fleetHint: FleetHint = { host, ...hint };
  return {
    host,
    interface: ifname,
    fabric,
    vid,
    via: { host: ref.host, interface: ref.iface.name, hint: fleetHint },
    agrees,
    reason: `${hint.hint} names ${named}, which is on ${where}${agrees ? '' : `; the fleet model has ${ifname} on ${own}`}`,
  };
}

/** How the history spells a placement. */
export function placementValue(p: FleetPlacement): string | null {
  if (p.fabric === null) return null;
  return p.vid === null ? p.fabric : `${p.fabric} vid ${p.vid}`;
}
