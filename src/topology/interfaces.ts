/**
 * The host's interfaces as the agent needs them: name, index, MAC, MTU,
 * kind, parents, VLAN ID and addresses. Parsing and selection are pure. Two
 * drivers fill it: src/net/netlink.ts from rtnetlink messages (through
 * link-table.ts, which puts them in the shape `ip` prints), and the
 * fallback, src/net/discover.ts, from `ip -j -d addr show`. Both end in
 * interfacesFromIpLinks(), so the rules below are one set.
 */
import { isIPv4 } from 'node:net';

export interface InterfaceAddress {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixlen: number;
  readonly scope: string;
}

export interface HostInterface {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: string | null;
  readonly mtu: number;
  /** MAAS's interface types: physical, vlan, bond, bridge, tunnel, ethernet (anything else with a MAC). */
  readonly type: string;
  readonly parents: readonly string[];
  readonly vid?: number;
  readonly up: boolean;
  readonly loopback: boolean;
  readonly addresses: readonly InterfaceAddress[];
}

/** One link as `ip -j -d addr show` prints it (the keys the model reads). */
export interface IpJsonLink {
  ifindex?: unknown;
  ifname?: unknown;
  flags?: unknown;
  mtu?: unknown;
  operstate?: unknown;
  link_type?: unknown;
  address?: unknown;
  link?: unknown;
  master?: unknown;
  linkinfo?: { info_kind?: unknown; info_data?: { id?: unknown; protocol?: unknown } };
  addr_info?: Array<{ family?: unknown; local?: unknown; prefixlen?: unknown; scope?: unknown }>;
}

const TUNNEL_KINDS = new Set(['vxlan', 'gre', 'gretap', 'ipip', 'sit', 'ip6tnl', 'ip6gre', 'geneve', 'wireguard', 'tun']);

/** Parse `ip -j -d addr show`. Entries missing a name or index are skipped. */
export function parseIpAddrJson(text: string): HostInterface[] {
  const links = JSON.parse(text) as IpJsonLink[];
  if (!Array.isArray(links)) throw new TypeError('ip -j addr show did not print a JSON array');
  return interfacesFromIpLinks(links);
}

/** The model from links in `ip -j -d addr show`'s shape. Entries missing a name or index are skipped. */
export function interfacesFromIpLinks(links: readonly IpJsonLink[]): HostInterface[] {
  const valid = links.filter((l) => typeof l.ifname === 'string' && typeof l.ifindex === 'number');
  // A bond's or bridge's parents are its members: the links whose master it is.
  const members = new Map<string, string[]>();
  for (const l of valid) {
    if (typeof l.master === 'string') members.set(l.master, [...(members.get(l.master) ?? []), l.ifname as string]);
  }
  return valid.map((l) => toInterface(l, members.get(l.ifname as string) ?? []));
}

function toInterface(l: IpJsonLink, members: string[]): HostInterface {
  const flags = Array.isArray(l.flags) ? (l.flags as unknown[]).filter((f): f is string => typeof f === 'string') : [];
  const kind = typeof l.linkinfo?.info_kind === 'string' ? l.linkinfo.info_kind : undefined;
  const vid = kind === 'vlan' && typeof l.linkinfo?.info_data?.id === 'number' ? l.linkinfo.info_data.id : undefined;
  const loopback = flags.includes('LOOPBACK') || l.link_type === 'loopback';
  const addresses: InterfaceAddress[] = [];
  for (const a of l.addr_info ?? []) {
    if (typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
    if (a.family !== 'inet' && a.family !== 'inet6') continue;
    addresses.push({ family: a.family === 'inet' ? 4 : 6, address: a.local, prefixlen: a.prefixlen, scope: typeof a.scope === 'string' ? a.scope : 'global' });
  }
  const parents = kind === 'vlan' && typeof l.link === 'string' ? [l.link] : members.sort();
  const base = {
    name: l.ifname as string,
    ifindex: l.ifindex as number,
    mac: typeof l.address === 'string' && l.link_type === 'ether' ? l.address : null,
    mtu: typeof l.mtu === 'number' ? l.mtu : 1500,
    type: interfaceType(kind, loopback),
    parents,
    up: flags.includes('UP') && l.operstate !== 'DOWN' && l.operstate !== 'LOWERLAYERDOWN',
    loopback,
    addresses,
  };
  return vid === undefined ? base : { ...base, vid };
}

function interfaceType(kind: string | undefined, loopback: boolean): string {
  if (loopback) return 'loopback';
  if (kind === undefined || kind === 'veth') return 'physical';
  if (kind === 'vlan' || kind === 'bond' || kind === 'bridge') return kind;
  if (TUNNEL_KINDS.has(kind)) return 'tunnel';
  return 'ethernet';
}

/** The network of an address, as MAAS's `subnet` spells it: "10.0.0.0/24". */
export function cidrOf(a: InterfaceAddress): string {
  if (a.family === 4) {
    const n = a.address.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
    const mask = a.prefixlen === 0 ? 0 : (~0 << (32 - a.prefixlen)) >>> 0;
    const net = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 0xff).join('.')}/${a.prefixlen}`;
  }
  const groups = expandIpv6(a.address);
  let bits = a.prefixlen;
  const masked = groups.map((g) => {
    const keep = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${compressIpv6(masked)}/${a.prefixlen}`;
}

function expandIpv6(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const t = tail ? tail.split(':').map((x) => parseInt(x, 16)) : [];
  if (tail === undefined) return h;
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function compressIpv6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface Selection {
  /** Names or globs (`eth*`, `en?1`); empty means every eligible interface. */
  readonly include: readonly string[];
  /** Names or globs to leave out (USB/BMC NICs, IPoIB, tunnels…). */
  readonly exclude: readonly string[];
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
    .replace(/\[!/g, '[^');
  return new RegExp(`^${body}$`);
}

/**
 * The interfaces to beacon on: up, not loopback, with a MAC (beacons are
 * Ethernet), included by name or glob (all when none given), not excluded.
 * Interfaces without an address are kept: they still get IPv6 link-local
 * beacons and are captured below the IP stack.
 */
export function selectInterfaces(all: readonly HostInterface[], sel: Selection): HostInterface[] {
  const inc = sel.include.map(globToRegExp);
  const exc = sel.exclude.map(globToRegExp);
  return all.filter((i) => i.up && !i.loopback && i.mac !== null && (inc.length === 0 || inc.some((r) => r.test(i.name))) && !exc.some((r) => r.test(i.name)));
}

/** The `remote` payload that describes a sending interface, as MAAS sends it. */
export function describeInterface(i: HostInterface, subnet: string | null): Record<string, unknown> {
  const d: Record<string, unknown> = { name: i.name, type: i.type, mac_address: i.mac, parents: [...i.parents], subnet };
  if (i.vid !== undefined) d.vid = i.vid;
  return d;
}

/** IPv4 addresses to beacon from (one multicast beacon each), global scope first. */
export function ipv4Addresses(i: HostInterface): InterfaceAddress[] {
  return i.addresses.filter((a) => a.family === 4 && isIPv4(a.address) && a.scope !== 'host');
}

/** How status and probe documents show an interface (addresses as CIDR strings). */
export function interfaceSummary(i: HostInterface): { name: string; mac: string | null; mtu: number; type: string; vid?: number; addresses: string[] } {
  return {
    name: i.name,
    mac: i.mac,
    mtu: i.mtu,
    type: i.type,
    ...(i.vid !== undefined ? { vid: i.vid } : {}),
    addresses: i.addresses.map((a) => `${a.address}/${a.prefixlen}`),
  };
}

/** A stable signature of what matters for beaconing; a change triggers solicitations. */
export function interfacesSignature(list: readonly HostInterface[]): string {
  // `up` is in it: a link that gains carrier after start must be picked up.
  return JSON.stringify(
    list.map((i) => [i.name, i.ifindex, i.up, i.mac, i.mtu, i.vid ?? null, i.parents, i.addresses.map((a) => `${a.address}/${a.prefixlen}`).sort()]),
  );
}

export interface InterfaceDiff {
  /** No longer there, or there under a new ifindex (deleted and made again): stop capturing on it. */
  readonly removed: string[];
  /** New, or made again under the same name: capture on it. */
  readonly added: HostInterface[];
  /** Still there, the same device, but its addresses, MTU, MAC, state or parents changed. */
  readonly changed: HostInterface[];
}

/** What changed between two selections (by name). */
export function diffInterfaces(before: ReadonlyMap<string, HostInterface>, after: ReadonlyMap<string, HostInterface>): InterfaceDiff {
  const removed: string[] = [];
  const added: HostInterface[] = [];
  const changed: HostInterface[] = [];
  for (const name of before.keys()) if (!after.has(name)) removed.push(name);
  for (const [name, i] of after) {
    const was = before.get(name);
    if (!was) added.push(i);
    else if (was.ifindex !== i.ifindex) {
      removed.push(name);
      added.push(i);
    } else if (interfacesSignature([was]) !== interfacesSignature([i])) changed.push(i);
  }
  return { removed, added, changed };
}
