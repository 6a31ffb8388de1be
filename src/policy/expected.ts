/**
 * The declared topology: what this host's interfaces are supposed to be
 * wired to, written by a person, checked against what beacons show
 * (drift.ts) and used to place the interfaces it leaves out (place.ts).
 *
 * Format (YAML; test/fixtures/policy/expected.yaml is a commented example):
 *
 *   version: 1                 # optional; the only version there is
 *   fabrics:
 *     mgmt:                    # fabric name: any non-empty string
 *       interfaces:            # a mapping: VLANs are checked ...
 *         eth0: { untagged: true, vids: [10, 20, "100-110"] }
 *         eth1: {}             # untagged defaults to true, vids to []
 *         eth5:                # no value: membership only, VLANs not checked
 *     storage:
 *       interfaces: [eth2, eth3]   # ... or a list: membership only
 *   alone: [eth4]              # on a fabric with no other local interface (list or mapping, as above)
 *
 * A fabric, as in MAAS, is one layer-2 network with all its VLANs: an
 * interface belongs to one fabric, and its tagged VLANs ride on that
 * fabric too. `untagged` says whether untagged (or VID 0, priority-tagged)
 * traffic is expected on the interface; `vids` lists the tagged VLANs
 * (1-4094; inclusive ranges as "A-B"). Every interface is declared at most
 * once. Unknown keys, wrong types and bad values are usage errors naming
 * the file and key path (exit code 2).
 */
import { UsageError } from '../errors';
import { boolean, fail, failGot, formatPath, ifname, isMapping, list, mapping, parseYaml, type KeyPath, type Source } from './validate';

export interface ExpectedVlans {
  readonly untagged: boolean;
  /** Sorted, without duplicates. */
  readonly vids: readonly number[];
}

export interface ExpectedInterface {
  readonly ifname: string;
  /** Absent: membership only, VLANs not checked. */
  readonly vlans?: ExpectedVlans;
}

export interface ExpectedFabric {
  readonly name: string;
  readonly interfaces: readonly ExpectedInterface[];
}

export interface ExpectedTopology {
  /** In file order. */
  readonly fabrics: readonly ExpectedFabric[];
  readonly alone: readonly ExpectedInterface[];
}

/** Where an interface is declared: in a fabric, or alone. */
export interface Declaration {
  readonly ifname: string;
  /** Undefined for an interface declared alone. */
  readonly fabric?: string;
  readonly vlans?: ExpectedVlans;
}

export const EXPECTED_ERROR_CODE = 'E_EXPECTED_FORMAT';

/** Parses the text of an expected-topology file; `file` is the name messages show. */
export function parseExpected(text: string, file: string): ExpectedTopology {
  const src: Source = { name: file, code: EXPECTED_ERROR_CODE };
  return readExpected(src, parseYaml(src, text));
}

/** Checks an already-parsed value (YAML or JSON) as an expected topology. */
export function readExpected(src: Source, value: unknown): ExpectedTopology {
  if (value === null || value === undefined) throw new UsageError(src.code, `${src.name}: is empty; declare at least one of "fabrics", "alone"`);
  const top = mapping(src, value, [], ['version', 'fabrics', 'alone']);
  if (top.version !== undefined && top.version !== 1) failGot(src, ['version'], 'must be 1', top.version);
  if (top.fabrics === undefined && top.alone === undefined) fail(src, [], 'declare at least one of "fabrics", "alone"');
  const declared = new Map<string, KeyPath>();
  const fabrics: ExpectedFabric[] = [];
  if (top.fabrics !== undefined) {
    const all = mapping(src, top.fabrics, ['fabrics']);
    for (const [name, body] of Object.entries(all)) {
      const at = ['fabrics', name];
      const f = mapping(src, body, at, ['interfaces'], ['interfaces']);
      const interfaces = readInterfaces(src, f.interfaces, [...at, 'interfaces'], declared);
      if (interfaces.length === 0) fail(src, [...at, 'interfaces'], 'must name at least one interface');
      fabrics.push({ name, interfaces });
    }
  }
  const alone = top.alone === undefined ? [] : readInterfaces(src, top.alone, ['alone'], declared);
  return { fabrics, alone };
}

/** Every declared interface, by name. */
export function declarations(e: ExpectedTopology): Map<string, Declaration> {
  const out = new Map<string, Declaration>();
  for (const f of e.fabrics) for (const i of f.interfaces) out.set(i.ifname, { ...i, fabric: f.name });
  for (const i of e.alone) out.set(i.ifname, i);
  return out;
}

/** A list of names (membership only) or a mapping of name to VLANs (null: membership only). */
function readInterfaces(src: Source, v: unknown, path: KeyPath, declared: Map<string, KeyPath>): ExpectedInterface[] {
  const once = (name: string, at: KeyPath): void => {
    const first = declared.get(name);
    if (first) fail(src, at, `${name} is already declared at ${formatPath(first)}`);
    declared.set(name, at);
  };
  if (Array.isArray(v)) {
    return v.map((item, i) => {
      const name = ifname(src, item, [...path, i]);
      once(name, [...path, i]);
      return { ifname: name };
    });
  }
  if (!isMapping(v)) return failGot(src, path, 'must be a list of interface names or a mapping of interface name to VLANs', v);
  return Object.entries(v).map(([key, body]) => {
    const at = [...path, key];
    const name = ifname(src, key, at);
    once(name, at);
    return body === null ? { ifname: name } : { ifname: name, vlans: readVlans(src, body, at) };
  });
}

function readVlans(src: Source, v: unknown, path: KeyPath): ExpectedVlans {
  const obj = mapping(src, v, path, ['untagged', 'vids']);
  const untagged = obj.untagged === undefined ? true : boolean(src, obj.untagged, [...path, 'untagged']);
  const vids = new Set<number>();
  if (obj.vids !== undefined) {
    list(src, obj.vids, [...path, 'vids']).forEach((item, i) => {
      const [from, to] = readVidItem(src, item, [...path, 'vids', i]);
      for (let vid = from; vid <= to; vid++) vids.add(vid);
    });
  }
  return { untagged, vids: [...vids].sort((a, b) => a - b) };
}

/** A VLAN id 1-4094 (0 is "untagged", 4095 reserved), or a range "A-B" of them. */
function readVidItem(src: Source, item: unknown, path: KeyPath): [number, number] {
  if (typeof item === 'number' && Number.isInteger(item) && item >= 1 && item <= 4094) return [item, item];
  const m = typeof item === 'string' ? /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(item) : null;
  if (!m) return failGot(src, path, 'must be an integer 1-4094', item);
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from < 1 || from > to || to > 4094) return failGot(src, path, 'must be a range "A-B" with 1 <= A <= B <= 4094', item);
  return [from, to];
}
