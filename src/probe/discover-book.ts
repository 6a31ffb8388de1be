/**
 * What `netbeacon discover` learns from the beacons it hears: one entry
 * per beaconing host, keyed by identity, never by ULID, so that a replayed
 * beacon (same ULID, or the same content re-sent from elsewhere) adds
 * nothing but a replay count.
 *
 * Identity:
 * - An authentic beacon (our secret) names its sending interface in
 *   `remote.mac_address`. That is authenticated, so it is the key: a copy
 *   of the beacon replayed from another MAC still lands on the host that
 *   made it. Without a remote MAC (a bare MAAS-style beacon), the frame's
 *   source MAC stands in.
 * - A beacon that is well-formed but fails only its MAC (reason 'mac') was
 *   made with another secret, or forged: its payload is unreadable, so the
 *   host is keyed by the frame's source MAC and marked "different secret".
 *   Same MAC, same secret class: one entry. An authentic entry and a
 *   different-secret entry for one MAC stay apart, because they say
 *   different things (something at that MAC speaks another secret).
 * Other rejections (stale, future, malformed) say nothing about the secret
 * and are only counted.
 *
 * Pure: records in, hosts out. Bounded, since a flood of forged source
 * MACs must not grow it without limit.
 */
import type { BeaconVerdict } from '../protocol/verdict';
import type { FrameInfo } from '../protocol/frame-types';
import { readAcks, readMaasUrl, readRole } from '../protocol/extensions';
import type { RejectReason } from '../protocol/reasons';

export type SecretMatch = 'same' | 'different';

export interface SeenOn {
  readonly interface: string;
  readonly vid?: number;
}

export interface DiscoveredHost {
  /** "52:54:00:0a:00:01": the remote MAC (same secret) or the source MAC (different secret). */
  readonly id: string;
  readonly secret: SecretMatch;
  /** Interface names the host beaconed from (`remote.name`); empty when unreadable. */
  readonly names: readonly string[];
  readonly macs: readonly string[];
  readonly addresses: readonly string[];
  readonly seen_on: readonly SeenOn[];
  readonly role?: string;
  readonly maas_url?: string;
  /** It answered one of our solicitations. */
  readonly answered: boolean;
  /** Distinct beacons (ULIDs; for a different secret, datagrams) heard from it. */
  readonly beacons: number;
  /** Beacons heard again on a segment that had already heard them: replays or loops. */
  readonly replays: number;
  /** Its MAC is one of this host's own: another beaconer on this machine. */
  readonly local: boolean;
}

export interface DiscoveryStats {
  readonly own: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** Hosts not kept because the book was full. */
  readonly overflow: number;
}

export interface BookRecord {
  readonly interface: string;
  readonly frame: FrameInfo;
  readonly verdict: BeaconVerdict;
}

export interface BookOptions {
  /** This host's MACs, to mark local beaconers. */
  readonly localMacs?: Iterable<string>;
  readonly maxHosts?: number;
}

interface Entry {
  id: string;
  secret: SecretMatch;
  names: Set<string>;
  macs: Set<string>;
  addresses: Set<string>;
  seen: Map<string, SeenOn>;
  role?: string;
  maasUrl?: string;
  acks: Set<string>;
  ulids: Set<string>;
  heard: Set<string>; // ulid + segment, to tell replays
  datagrams: number;
  replays: number;
}

/** Per host, how many distinct ULID/segment pairs are remembered for replay detection. */
const MAX_HEARD = 4096;

export class DiscoveryBook {
  readonly #own = new Set<string>();
  readonly #hosts = new Map<string, Entry>();
  readonly #local: Set<string>;
  readonly #max: number;
  #ownHeard = 0;
  #overflow = 0;
  readonly #rejected: Partial<Record<RejectReason, number>> = {};

  constructor(opts: BookOptions = {}) {
    this.#local = new Set([...(opts.localMacs ?? [])].map((m) => m.toLowerCase()));
    this.#max = opts.maxHosts ?? 4096;
  }

  /** A ULID this host sent: heard back it is not a peer, answered it marks the peer `answered`. */
  noteSent(ulid: string): void {
    this.#own.add(ulid.toUpperCase());
  }

  add(r: BookRecord): void {
    const seg: SeenOn = r.frame.vid === undefined ? { interface: r.interface } : { interface: r.interface, vid: r.frame.vid };
    const segKey = `${seg.interface}\u0000${seg.vid ?? ''}`;
    if (!r.verdict.ok) {
      this.#rejected[r.verdict.reason] = (this.#rejected[r.verdict.reason] ?? 0) + 1;
      if (r.verdict.reason !== 'mac') return;
      const e = this.#entry('different', r.frame.sourceMac.toLowerCase());
      if (!e) return;
      e.datagrams++;
      this.#note(e, r.frame, seg, segKey);
      return;
    }
    const payload = r.verdict.payload;
    const ulid = typeof payload?.ulid === 'string' ? payload.ulid.toUpperCase() : undefined;
    if (ulid !== undefined && this.#own.has(ulid)) {
      this.#ownHeard++;
      return;
    }
    const remote = payload?.remote;
    const remoteMac = isMapping(remote) && typeof remote.mac_address === 'string' && remote.mac_address !== '' ? remote.mac_address.toLowerCase() : undefined;
    const e = this.#entry('same', remoteMac ?? r.frame.sourceMac.toLowerCase());
    if (!e) return;
    if (remoteMac) e.macs.add(remoteMac);
    if (isMapping(remote) && typeof remote.name === 'string' && remote.name !== '' && e.names.size < 64) e.names.add(remote.name);
    e.role = readRole(payload) ?? e.role;
    e.maasUrl = readMaasUrl(payload) ?? e.maasUrl;
    // Kept, and judged against our ULIDs only in hosts(): an answer can be
    // captured before the send that it answers has reported its ULID.
    const acks = readAcks(payload);
    if (acks !== undefined && e.acks.size < MAX_HEARD) e.acks.add(acks.toUpperCase());
    if (ulid !== undefined) {
      const heardKey = `${ulid}\u0000${segKey}`;
      if (e.heard.has(heardKey)) e.replays++;
      else if (e.heard.size < MAX_HEARD) e.heard.add(heardKey);
      if (e.ulids.size < MAX_HEARD) e.ulids.add(ulid);
    } else {
      e.datagrams++;
    }
    this.#note(e, r.frame, seg, segKey);
  }

  hosts(): DiscoveredHost[] {
    // Our own beacons heard back before their send reported the ULID are
    // dropped here, as add() drops the ones heard after.
    const entries = [...this.#hosts.values()].filter((e) => e.datagrams > 0 || e.ulids.size === 0 || [...e.ulids].some((u) => !this.#own.has(u)));
    const out = entries.map((e): DiscoveredHost => {
      const h: DiscoveredHost = {
        id: e.id,
        secret: e.secret,
        names: [...e.names].sort(),
        macs: [...e.macs].sort(),
        addresses: [...e.addresses].sort(compareAddresses),
        seen_on: [...e.seen.values()].sort((a, b) => (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : (a.vid ?? -1) - (b.vid ?? -1))),
        answered: [...e.acks].some((a) => this.#own.has(a)),
        beacons: [...e.ulids].filter((u) => !this.#own.has(u)).length + e.datagrams,
        replays: e.replays,
        local: [...e.macs].some((m) => this.#local.has(m)),
      };
      return { ...h, ...(e.role !== undefined ? { role: e.role } : {}), ...(e.maasUrl !== undefined ? { maas_url: e.maasUrl } : {}) };
    });
    // Same secret first, then by id: a stable order for tables and tests.
    return out.sort((a, b) => (a.secret !== b.secret ? (a.secret === 'same' ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  stats(): DiscoveryStats {
    return { own: this.#ownHeard, rejected: { ...this.#rejected }, overflow: this.#overflow };
  }

  #entry(secret: SecretMatch, id: string): Entry | undefined {
    const key = `${secret}\u0000${id}`;
    let e = this.#hosts.get(key);
    if (e) return e;
    if (this.#hosts.size >= this.#max) {
      this.#overflow++;
      return undefined;
    }
    e = {
      id,
      secret,
      names: new Set(),
      macs: new Set(),
      addresses: new Set(),
      seen: new Map(),
      acks: new Set(),
      ulids: new Set(),
      heard: new Set(),
      datagrams: 0,
      replays: 0,
    };
    this.#hosts.set(key, e);
    return e;
  }

  #note(e: Entry, frame: FrameInfo, seg: SeenOn, segKey: string): void {
    // Bounded per host too: a replayer can vary the unauthenticated fields.
    if (frame.sourceMac !== '' && e.macs.size < 16) e.macs.add(frame.sourceMac.toLowerCase());
    if (frame.sourceIp !== '' && frame.sourceIp !== '0.0.0.0' && e.addresses.size < 16) e.addresses.add(frame.sourceIp);
    if (!e.seen.has(segKey) && e.seen.size < 64) e.seen.set(segKey, seg);
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** IPv4 before IPv6, then as text. */
function compareAddresses(a: string, b: string): number {
  const fa = a.includes(':') ? 1 : 0;
  const fb = b.includes(':') ? 1 : 0;
  if (fa !== fb) return fa - fb;
  return a < b ? -1 : a > b ? 1 : 0;
}
