/**
 * What a VLAN scan found, and how it compares with what the operator
 * expects. Pure: the collector takes the probes sent and the records
 * captured; compareVlans takes a report and a parsed expect file.
 *
 * JSON shape (`netbeacon vlans --json`; arrays sorted):
 *   { "interface": "r0", "outer_vid"?: 100,
 *     "vids_probed": [10, 20, 30],
 *     "answered": [ {"vid": 10, "peers": ["52:54:00:…"]} ],     // VIDs someone answered on
 *     "silent": [30],                                           // VIDs no one answered on
 *     "peers": [ {"mac": "52:54:00:…", "names": ["p0"], "addresses": ["10.0.0.2"],
 *                 "vids": [10, 20],                               // its answers reached us
 *                 "reply_tag_differs": [ {"vid": 20, "reply_vid": null} ] } ],  // only when some did
 *     "expect"?: { "file": "…", "ok": false, "peers": [ {"peer", "expected", "seen", "missing", "unexpected", "not_probed"} ],
 *                  "unexpected_peers": [ {"peer", "vids"} ] } }
 */
import type { BookRecord } from './discover-book';
import { readAcks } from '../protocol/extensions';

export interface VlanPeer {
  readonly mac: string;
  readonly names: readonly string[];
  readonly addresses: readonly string[];
  readonly vids: readonly number[];
  /** Answers that came back with another tag than the probe's (or none): a leak or a misconfigured trunk. */
  readonly reply_tag_differs?: readonly { vid: number; reply_vid: number | null }[];
}

export interface VlanReport {
  readonly interface: string;
  readonly outer_vid?: number;
  readonly vids_probed: readonly number[];
  readonly answered: readonly { vid: number; peers: readonly string[] }[];
  readonly silent: readonly number[];
  readonly peers: readonly VlanPeer[];
}

interface PeerEntry {
  names: Set<string>;
  addresses: Set<string>;
  vids: Set<number>;
  differs: Map<number, number | null>;
}

const MAX_PEERS = 1024;

export class VlanCollector {
  readonly #interface: string;
  readonly #outerVid: number | undefined;
  readonly #sent = new Map<string, number>(); // ULID -> VID
  readonly #peers = new Map<string, PeerEntry>();

  constructor(ifname: string, outerVid?: number) {
    this.#interface = ifname;
    this.#outerVid = outerVid;
  }

  noteSent(ulid: string, vid: number): void {
    this.#sent.set(ulid.toUpperCase(), vid);
  }

  /** A captured record; only advertisements acking one of our probes count. */
  add(r: BookRecord): void {
    if (r.interface !== this.#interface || !r.verdict.ok || r.verdict.type !== 'advertisement') return;
    const acks = readAcks(r.verdict.payload);
    const vid = acks === undefined ? undefined : this.#sent.get(acks.toUpperCase());
    if (vid === undefined) return;
    const remote = r.verdict.payload?.remote as { mac_address?: unknown; name?: unknown } | undefined;
    const mac = (typeof remote?.mac_address === 'string' && remote.mac_address !== '' ? remote.mac_address : r.frame.sourceMac).toLowerCase();
    let e = this.#peers.get(mac);
    if (!e) {
      if (this.#peers.size >= MAX_PEERS) return;
      e = { names: new Set(), addresses: new Set(), vids: new Set(), differs: new Map() };
      this.#peers.set(mac, e);
    }
    if (typeof remote?.name === 'string' && remote.name !== '' && e.names.size < 16) e.names.add(remote.name);
    if (r.frame.sourceIp !== '0.0.0.0' && e.addresses.size < 16) e.addresses.add(r.frame.sourceIp);
    e.vids.add(vid);
    if (r.frame.vid !== vid) e.differs.set(vid, r.frame.vid ?? null);
  }

  report(): VlanReport {
    const probed = [...new Set(this.#sent.values())].sort((a, b) => a - b);
    const byVid = new Map<number, string[]>();
    const peers: VlanPeer[] = [...this.#peers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([mac, e]) => {
        for (const v of e.vids) byVid.set(v, [...(byVid.get(v) ?? []), mac]);
        const p: VlanPeer = { mac, names: [...e.names].sort(), addresses: [...e.addresses].sort(), vids: [...e.vids].sort((a, b) => a - b) };
        if (e.differs.size === 0) return p;
        return { ...p, reply_tag_differs: [...e.differs].sort(([a], [b]) => a - b).map(([vid, reply_vid]) => ({ vid, reply_vid })) };
      });
    return {
      interface: this.#interface,
      ...(this.#outerVid !== undefined ? { outer_vid: this.#outerVid } : {}),
      vids_probed: probed,
      answered: probed.filter((v) => byVid.has(v)).map((vid) => ({ vid, peers: byVid.get(vid)! })),
      silent: probed.filter((v) => !byVid.has(v)),
      peers,
    };
  }
}

/** A parsed expect file: per peer MAC, the VIDs it should answer on. */
export interface VlanExpect {
  readonly file: string;
  readonly interface?: string;
  /** Lower-case MAC → sorted VIDs. */
  readonly peers: ReadonlyMap<string, readonly number[]>;
}

export interface PeerComparison {
  readonly peer: string;
  readonly expected: readonly number[];
  readonly seen: readonly number[];
  /** Expected, probed, not answered. */
  readonly missing: readonly number[];
  /** Answered, probed, not expected. */
  readonly unexpected: readonly number[];
  /** Expected but not probed this run (not a failure: the scan was narrower). */
  readonly not_probed: readonly number[];
}

export interface VlanComparison {
  readonly file: string;
  readonly ok: boolean;
  readonly peers: readonly PeerComparison[];
  readonly unexpected_peers: readonly { peer: string; vids: readonly number[] }[];
}

export function compareVlans(report: VlanReport, expect: VlanExpect): VlanComparison {
  const probed = new Set(report.vids_probed);
  const seenBy = new Map(report.peers.map((p) => [p.mac, p.vids]));
  const peers: PeerComparison[] = [...expect.peers.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([peer, expected]) => {
      const seen = seenBy.get(peer) ?? [];
      const want = new Set(expected);
      return {
        peer,
        expected,
        seen,
        missing: expected.filter((v) => probed.has(v) && !seen.includes(v)),
        unexpected: seen.filter((v) => !want.has(v)),
        not_probed: expected.filter((v) => !probed.has(v)),
      };
    });
  const unexpected_peers = report.peers.filter((p) => !expect.peers.has(p.mac)).map((p) => ({ peer: p.mac, vids: p.vids }));
  const ok = unexpected_peers.length === 0 && peers.every((p) => p.missing.length === 0 && p.unexpected.length === 0);
  return { file: expect.file, ok, peers, unexpected_peers };
}
