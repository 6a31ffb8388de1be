/**
 * The host's links and addresses as rtnetlink reports them, kept up to
 * date from batches of messages (native/netlink_napi.cc documents the
 * batch), and shown in the shape `ip -j -d addr show` prints, so that
 * interfacesFromIpLinks() (interfaces.ts) makes the same HostInterface of
 * either source. What `ip` does with each attribute is written out here:
 * flag and operstate names, the parent's name for IFLA_LINK and
 * IFLA_MASTER, the scope names. Pure: messages in, interfaces out.
 */
import { interfacesFromIpLinks, type HostInterface, type IpJsonLink } from './interfaces';

/** RTM_NEWLINK: a link's whole state. Optional keys are attributes the message may lack. */
export interface RtnlLink {
  readonly op: 'new';
  readonly ifindex: number;
  readonly name: string;
  readonly flags: number;
  /** ifi_type: ARPHRD_* */
  readonly type: number;
  readonly mtu?: number;
  /** Link-layer address, "aa:bb:…" */
  readonly address?: string;
  /** IF_OPER_* */
  readonly operstate?: number;
  /** IFLA_LINK: the lower device's ifindex (a VLAN's parent). */
  readonly link?: number;
  /** IFLA_LINK_NETNSID: `link` lives in another namespace. */
  readonly linkNetnsid?: number;
  readonly master?: number;
  /** IFLA_INFO_KIND */
  readonly kind?: string;
  readonly vlanId?: number;
}

export interface RtnlDelLink {
  readonly op: 'del';
  readonly ifindex: number;
  readonly name: string;
}

export interface RtnlAddress {
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly local: string;
  readonly prefixlen: number;
  /** RT_SCOPE_* */
  readonly scope: number;
  readonly flags: number;
}

export interface RtnlBatch {
  /** Start from nothing: a dump. */
  readonly reset: boolean;
  /** RTM_NEWLINK / RTM_DELLINK, in the order received. */
  readonly links: ReadonlyArray<RtnlLink | RtnlDelLink>;
  /** When present: every address, in the kernel's order; replaces the table. */
  readonly addresses?: readonly RtnlAddress[];
  /** Messages the addon skipped because a length did not fit. */
  readonly malformed: number;
}

const ARPHRD: Readonly<Record<number, string>> = { 1: 'ether', 772: 'loopback', 65534: 'none' };

/** `ip`'s names for ifi_flags, in the order it prints them (print_link_flags). */
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x8, 'LOOPBACK'],
  [0x2, 'BROADCAST'],
  [0x10, 'POINTOPOINT'],
  [0x1000, 'MULTICAST'],
  [0x80, 'NOARP'],
  [0x200, 'ALLMULTI'],
  [0x100, 'PROMISC'],
  [0x400, 'MASTER'],
  [0x800, 'SLAVE'],
  [0x4, 'DEBUG'],
  [0x8000, 'DYNAMIC'],
  [0x4000, 'AUTOMEDIA'],
  [0x2000, 'PORTSEL'],
  [0x20, 'NOTRAILERS'],
  [0x1, 'UP'],
  [0x10000, 'LOWER_UP'],
  [0x20000, 'DORMANT'],
  [0x40000, 'ECHO'],
];
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
const SCOPES: Readonly<Record<number, string>> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

export function flagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) out.push('NO-CARRIER');
  for (const [bit, name] of FLAG_NAMES) if (flags & bit) out.push(name);
  return out;
}

export class LinkTable {
  readonly #links = new Map<number, RtnlLink>();
  #addresses: readonly RtnlAddress[] = [];
  /** Malformed messages the addon reported, since the start. */
  malformed = 0;

  /** Applies a batch: a reset starts from nothing; link messages in order; an address table replaces the one held. */
  apply(batch: RtnlBatch): void {
    if (batch.reset) this.#links.clear();
    for (const l of batch.links) {
      if (l.op === 'new') this.#links.set(l.ifindex, l);
      else this.#links.delete(l.ifindex);
    }
    if (batch.addresses) this.#addresses = batch.addresses;
    else if (batch.reset) this.#addresses = [];
    this.malformed += batch.malformed;
  }

  /** The links in `ip -j -d addr show`'s shape, by ifindex as the kernel dumps them. */
  ipLinks(): IpJsonLink[] {
    const byLink = new Map<number, RtnlAddress[]>();
    for (const a of this.#addresses) {
      const list = byLink.get(a.ifindex);
      if (list) list.push(a);
      else byLink.set(a.ifindex, [a]);
    }
    return [...this.#links.values()].sort((a, b) => a.ifindex - b.ifindex).map((l) => this.#ipLink(l, byLink.get(l.ifindex) ?? []));
  }

  interfaces(): HostInterface[] {
    return interfacesFromIpLinks(this.ipLinks());
  }

  /** `ip`'s name for an ifindex (ll_index_to_name): the link's name, or "if<N>" when unknown. */
  #nameOf(ifindex: number): string {
    return this.#links.get(ifindex)?.name ?? `if${ifindex}`;
  }

  #ipLink(l: RtnlLink, addrs: readonly RtnlAddress[]): IpJsonLink {
    const out: {
      -readonly [K in keyof IpJsonLink]: IpJsonLink[K];
    } = {
      ifindex: l.ifindex,
      ifname: l.name,
      flags: flagNames(l.flags),
      link_type: ARPHRD[l.type] ?? `[${l.type}]`,
    };
    if (l.operstate !== undefined) out.operstate = OPERSTATES[l.operstate] ?? 'UNKNOWN';
    if (l.mtu !== undefined) out.mtu = l.mtu;
    if (l.address !== undefined) out.address = l.address;
    // ip names the lower device only when it is in this namespace (and not 0).
    if (l.link !== undefined && l.link !== 0 && l.linkNetnsid === undefined) out.link = this.#nameOf(l.link);
    if (l.master !== undefined) out.master = this.#nameOf(l.master);
    if (l.kind !== undefined) out.linkinfo = { info_kind: l.kind, ...(l.vlanId !== undefined ? { info_data: { id: l.vlanId } } : {}) };
    out.addr_info = addrs.map((a) => ({
      family: a.family === 4 ? 'inet' : 'inet6',
      local: a.local,
      prefixlen: a.prefixlen,
      scope: SCOPES[a.scope] ?? String(a.scope),
    }));
    return out;
  }
}
