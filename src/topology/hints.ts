/**
 * Topology hints as data, in the form a MAAS rack reports them to the
 * region: `ifname`, `vid`, `hint`, `related_ifname`, `related_vid`,
 * `related_mac`, with absent (MAAS: null) fields left out.
 *
 * Order and identity follow the reference output (vectors/maas/hints.json):
 * a hint's identity is its JSON with sorted keys, spelled as Python's
 * `json.dumps(hint, sort_keys=True)` spells it, and lists are sorted by that
 * string. Matching Python's spelling (", " and ": " separators, every
 * non-ASCII character escaped) keeps the order identical to MAAS's even for
 * odd interface names, and makes the printed form byte-identical. The
 * correlator holds its hints interned (hint-table.ts) and spells each one
 * once; these functions are for lists that come from elsewhere.
 */
import type { Segment } from './segment';

export const HINT_KINDS = [
  'on_remote_network',
  'routable_to',
  'rx_own_beacon_on_other_interface',
  'rx_own_beacon_on_tx_interface',
  'same_local_fabric_as',
] as const;
export type HintKind = (typeof HINT_KINDS)[number];

export interface TopologyHint {
  readonly ifname: string;
  readonly vid?: number;
  readonly hint: HintKind;
  readonly related_ifname?: string;
  readonly related_vid?: number;
  readonly related_mac?: string;
}

/** A hint from `local` to `related`, leaving out what is absent. */
export function makeHint(hint: HintKind, local: Segment, related: { ifname?: string; vid?: number; mac?: string }): TopologyHint {
  const h: { -readonly [K in keyof TopologyHint]: TopologyHint[K] } = { ifname: local.ifname, hint };
  if (local.vid !== undefined) h.vid = local.vid;
  if (related.ifname !== undefined) h.related_ifname = related.ifname;
  if (related.vid !== undefined) h.related_vid = related.vid;
  if (related.mac !== undefined) h.related_mac = related.mac;
  return h;
}

// Alphabetical, as sort_keys=True orders them.
const KEY_ORDER = ['hint', 'ifname', 'related_ifname', 'related_mac', 'related_vid', 'vid'] as const;

/** `json.dumps(hint, sort_keys=True)`: the hint's identity, sort key and printed form. */
export function hintKey(h: TopologyHint): string {
  const parts: string[] = [];
  for (const k of KEY_ORDER) {
    const v = h[k];
    if (v !== undefined) parts.push(`"${k}": ${typeof v === 'number' ? String(v) : pythonJsonString(v)}`);
  }
  return `{${parts.join(', ')}}`;
}

/** A JSON string as Python's json.dumps (ensure_ascii) writes it: all ASCII. */
function pythonJsonString(s: string): string {
  // JSON.stringify already escapes quotes, backslashes, controls and lone
  // surrogates the way Python does; Python also escapes DEL and everything
  // above it, one \uXXXX per UTF-16 unit.
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Sorted, without duplicates. The keys are pure ASCII, so JavaScript's
 * UTF-16 string order is Python's code-point order.
 */
export function sortHints(hints: Iterable<TopologyHint>): TopologyHint[] {
  const byKey = new Map<string, TopologyHint>();
  for (const h of hints) byKey.set(hintKey(h), h);
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

/**
 * The hints as one JSON array, one hint a line, in the layout of the
 * reference hints.json (so the two compare equal byte for byte).
 */
export function formatHintsJson(hints: Iterable<TopologyHint>): string {
  const lines = sortHints(hints).map(hintKey);
  return lines.length === 0 ? '[]\n' : `[\n${lines.join(',\n')}\n]\n`;
}
