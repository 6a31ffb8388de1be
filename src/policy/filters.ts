/**
 * Receive filters: which beacons to ignore before they cost anything, by
 * source MAC and VID, per interface. Both fields are in the clear frame, so
 * the driver can (and should) apply the filter before verification: a
 * denied flood then costs no HMAC at all.
 *
 * Configuration (a list; every rule whose `interfaces` match applies, and a
 * beacon is accepted only if none of them drops it, so a global deny and a
 * per-interface allow compose):
 *
 *   filters:
 *     - interfaces: ["eth*", bond0]     # globs: * any run, ? one character; default every interface
 *       allow_macs: ["52:54:00:*"]      # exact MAC, or 1-5 leading octets then :* (an OUI is 3)
 *       deny_macs: ["52:54:00:12:34:56"]
 *       allow_vids: [untagged, 10, "100-199"]   # VIDs 0-4095, inclusive ranges, `untagged`
 *       deny_vids: [4095]
 *
 * Within a rule: a deny list drops what it matches; an allow list drops
 * what it does not match. An untagged beacon has no VID: only `untagged`
 * matches it (VID 0, a priority tag, is a VID like any other here, since
 * the frame did carry a tag). MACs compare case-insensitively.
 *
 * Each drop names the rule item responsible (`filters[0].deny_macs[1]`, or
 * `filters[0].allow_vids` when nothing in an allow list matched), for the
 * caller's counters and logs.
 */
import { failGot, fail, list, mapping, type KeyPath, type Source } from './validate';

/** A VID list item: a VID, an inclusive range "A-B", or `untagged`. */
export type VidSpec = number | string;

export interface FilterRule {
  /** Interface name globs; absent: every interface. */
  readonly interfaces?: readonly string[];
  readonly allowMacs?: readonly string[];
  readonly denyMacs?: readonly string[];
  readonly allowVids?: readonly VidSpec[];
  readonly denyVids?: readonly VidSpec[];
}

/** What the filter looks at: all clear-text, known before verification. */
export interface FilterInput {
  readonly interface: string;
  /** Absent when the frame was untagged. */
  readonly vid?: number;
  readonly sourceMac: string;
}

export type DropReason = 'mac-denied' | 'mac-not-allowed' | 'vid-denied' | 'vid-not-allowed';

export type FilterDecision = { readonly kind: 'accept' } | { readonly kind: 'drop'; readonly rule: string; readonly reason: DropReason };

const ACCEPT: FilterDecision = Object.freeze({ kind: 'accept' });
/** Bound of the per-interface cache; interface names are local, so this is only a guard. */
const CACHE_LIMIT = 1024;

const OCTET = '[0-9a-f]{2}';
const MAC = new RegExp(`^${OCTET}(:${OCTET}){5}$`);
const MAC_PREFIX = new RegExp(`^${OCTET}(:${OCTET}){0,4}:\\*$`);

/** A MAC list compiled for lookups: exact addresses and prefixes, both as sets. */
class MacSet {
  readonly #exact = new Map<string, number>();
  // Prefix (without ":*") -> list index; looked up at each of the 5 possible lengths.
  readonly #prefixes = new Map<string, number>();

  constructor(patterns: readonly string[], onError: (index: number, what: string) => never) {
    patterns.forEach((raw, i) => {
      const p = typeof raw === 'string' ? raw.toLowerCase() : '';
      if (MAC.test(p)) this.#exact.set(p, this.#exact.get(p) ?? i);
      else if (MAC_PREFIX.test(p)) this.#prefixes.set(p.slice(0, -2), this.#prefixes.get(p.slice(0, -2)) ?? i);
      else onError(i, `must be a MAC like "52:54:00:12:34:56" or a prefix like "52:54:00:*", got ${JSON.stringify(raw)}`);
    });
  }

  /** The index of the first pattern matching `mac`, or -1. */
  match(mac: string): number {
    const m = mac.toLowerCase();
    if (!MAC.test(m)) return -1;
    let best = this.#exact.get(m) ?? -1;
    for (let octets = 1; octets <= 5; octets++) {
      const i = this.#prefixes.get(m.slice(0, octets * 3 - 1));
      if (i !== undefined && (best === -1 || i < best)) best = i;
    }
    return best;
  }
}

/** A VID list compiled to a bitmap: which list item first covers each VID. */
class VidSet {
  readonly #first = new Int32Array(4096).fill(-1);
  #untagged = -1;

  constructor(items: readonly VidSpec[], onError: (index: number, what: string) => never) {
    items.forEach((item, i) => {
      const r = parseVidSpec(item);
      if (r === 'untagged') this.#untagged = this.#untagged === -1 ? i : this.#untagged;
      else if (typeof r === 'string') onError(i, r);
      else for (let v = r.from; v <= r.to; v++) if (this.#first[v] === -1) this.#first[v] = i;
    });
  }

  match(vid: number | undefined): number {
    if (vid === undefined) return this.#untagged;
    return Number.isInteger(vid) && vid >= 0 && vid <= 4095 ? this.#first[vid]! : -1;
  }
}

/** `10`, `"100-199"` or `untagged`; an error message otherwise. VIDs 0-4095 as a frame can carry them. */
export function parseVidSpec(item: unknown): { from: number; to: number } | string {
  if (item === 'untagged') return 'untagged';
  if (typeof item === 'number' && Number.isInteger(item) && item >= 0 && item <= 4095) return { from: item, to: item };
  const m = typeof item === 'string' ? /^\s*(\d{1,4})\s*-\s*(\d{1,4})\s*$/.exec(item) : null;
  if (m) {
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from <= to && to <= 4095) return { from, to };
    return `must be a range "A-B" with 0 <= A <= B <= 4095, got ${JSON.stringify(item)}`;
  }
  return `must be a VID 0-4095, a range "A-B" or untagged, got ${JSON.stringify(item)}`;
}

/** An interface-name glob as an anchored RegExp: `*` any run, `?` one character, all else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[\\^$.+()|{}[\]]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

interface CompiledRule {
  readonly label: string;
  readonly interfaces: readonly RegExp[] | undefined;
  readonly allowMacs?: MacSet;
  readonly denyMacs?: MacSet;
  readonly allowVids?: VidSet;
  readonly denyVids?: VidSet;
}

export class BeaconFilter {
  readonly #rules: readonly CompiledRule[];
  readonly #byInterface = new Map<string, readonly CompiledRule[]>();

  /**
   * Throws RangeError on a bad pattern, naming it as `label[i].key[j]`; a
   * configuration goes through parseFilterRules first, which reports the
   * same mistakes as usage errors with the file.
   */
  constructor(rules: readonly FilterRule[], label = 'filters') {
    this.#rules = rules.map((r, i) =>
      compileRule(r, `${label}[${i}]`, (key, j, what) => {
        throw new RangeError(`${label}[${i}].${key}[${j}]: ${what}`);
      }),
    );
  }

  /** True when there is nothing to check (the driver can skip the call). */
  get empty(): boolean {
    return this.#rules.length === 0;
  }

  check(b: FilterInput): FilterDecision {
    for (const r of this.#rulesFor(b.interface)) {
      if (r.denyMacs) {
        const i = r.denyMacs.match(b.sourceMac);
        if (i >= 0) return { kind: 'drop', rule: `${r.label}.deny_macs[${i}]`, reason: 'mac-denied' };
      }
      if (r.allowMacs && r.allowMacs.match(b.sourceMac) < 0) return { kind: 'drop', rule: `${r.label}.allow_macs`, reason: 'mac-not-allowed' };
      if (r.denyVids) {
        const i = r.denyVids.match(b.vid);
        if (i >= 0) return { kind: 'drop', rule: `${r.label}.deny_vids[${i}]`, reason: 'vid-denied' };
      }
      if (r.allowVids && r.allowVids.match(b.vid) < 0) return { kind: 'drop', rule: `${r.label}.allow_vids`, reason: 'vid-not-allowed' };
    }
    return ACCEPT;
  }

  #rulesFor(ifname: string): readonly CompiledRule[] {
    let rules = this.#byInterface.get(ifname);
    if (!rules) {
      rules = this.#rules.filter((r) => r.interfaces === undefined || r.interfaces.some((g) => g.test(ifname)));
      if (this.#byInterface.size >= CACHE_LIMIT) this.#byInterface.clear();
      this.#byInterface.set(ifname, rules);
    }
    return rules;
  }
}

type PatternError = (key: string, index: number, what: string) => never;

function compileRule(r: FilterRule, label: string, onError: PatternError): CompiledRule {
  const at = (key: string) => (i: number, what: string) => onError(key, i, what);
  return {
    label,
    interfaces: r.interfaces?.map(globToRegExp),
    ...(r.allowMacs && { allowMacs: new MacSet(r.allowMacs, at('allow_macs')) }),
    ...(r.denyMacs && { denyMacs: new MacSet(r.denyMacs, at('deny_macs')) }),
    ...(r.allowVids && { allowVids: new VidSet(r.allowVids, at('allow_vids')) }),
    ...(r.denyVids && { denyVids: new VidSet(r.denyVids, at('deny_vids')) }),
  };
}

const RULE_KEYS = ['interfaces', 'allow_macs', 'deny_macs', 'allow_vids', 'deny_vids'] as const;

/**
 * Checks a `filters` value from a configuration file (already parsed) and
 * returns the rules; every mistake is a UsageError naming its key path.
 */
export function parseFilterRules(src: Source, value: unknown, path: KeyPath = ['filters']): FilterRule[] {
  return list(src, value, path).map((item, i) => {
    const at = [...path, i];
    const obj = mapping(src, item, at, RULE_KEYS);
    if (RULE_KEYS.slice(1).every((k) => obj[k] === undefined)) fail(src, at, 'a rule needs at least one of allow_macs, deny_macs, allow_vids, deny_vids');
    const strings = (key: string): string[] => {
      const items = list(src, obj[key], [...at, key]);
      if (items.length === 0)
        fail(src, [...at, key], key === 'interfaces' ? 'is empty, so the rule would apply nowhere; leave the key out for every interface' : EMPTY_ALLOW);
      return items.map((v, j) => (typeof v === 'string' && v !== '' ? v : failGot(src, [...at, key, j], 'must be a non-empty string', v)));
    };
    const vids = (key: string): VidSpec[] => {
      const items = list(src, obj[key], [...at, key]);
      if (key === 'allow_vids' && items.length === 0) fail(src, [...at, key], EMPTY_ALLOW);
      return items.map((v, j) => {
        const r = parseVidSpec(v);
        return typeof r === 'string' && r !== 'untagged' ? fail(src, [...at, key, j], r) : (v as VidSpec);
      });
    };
    const rule: FilterRule = {
      ...(obj.interfaces !== undefined && { interfaces: strings('interfaces') }),
      ...(obj.allow_macs !== undefined && { allowMacs: strings('allow_macs') }),
      ...(obj.deny_macs !== undefined && { denyMacs: list(src, obj.deny_macs, [...at, 'deny_macs']) as string[] }),
      ...(obj.allow_vids !== undefined && { allowVids: vids('allow_vids') }),
      ...(obj.deny_vids !== undefined && { denyVids: vids('deny_vids') }),
    };
    // Compiling checks the MAC syntax; its message already says what is wrong.
    compileRule(rule, '', (key, j, what) => fail(src, [...at, key, j], what));
    return rule;
  });
}

const EMPTY_ALLOW = 'is empty, which would drop everything; leave the key out instead';
