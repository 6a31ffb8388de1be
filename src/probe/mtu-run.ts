/**
 * The driver of `netbeacon mtu`. Per interface:
 *
 * 1. Find the peers: a short multicast solicitation carrying `mtu_probe`,
 *    sent up to three times; every advertisement acking one is a peer
 *    (keyed by its remote MAC). A netbeacon agent's ack carries
 *    `mtu_probe_ack` with its interface MTU; a MAAS rack's plain ack does
 *    not, and only the forward direction can be measured to it.
 * 2. Forward (to the peer): solicitations padded to the size under test,
 *    DF set, unicast to the peer's MAC (and IPv4 address when it has one),
 *    bisected by MtuSearch between 1280 and our interface MTU. A size
 *    arrived when the peer acks it: any answer will do, MAAS's included.
 * 3. Reverse (from the peer): short solicitations with
 *    `mtu_probe.reply_size`, asking the peer for a reply padded to that
 *    size with DF set, bisected between 1280 and the peer's interface MTU.
 *    A size arrived when a reply that long comes back. The peer pads only
 *    when it can send raw frames; when its ack lacks `reply_size`, the
 *    reverse direction is reported as not measured.
 *
 * Probes are paced (default 20/s) and bounded in number (per search and per
 * run), and the two directions are searched one after the other so that a
 * lost probe is never ambiguous about which direction lost it.
 */
import type { LiveRecord } from '../capture/live';
import { NetbeaconError } from '../errors';
import { ipLength, MAX_PROBE_SIZE, MIN_PROBE_SIZE, readMtuProbeAck, type MtuProbeAck } from '../protocol/extensions';
import type { HostInterface } from '../topology/interfaces';
import { GROUP4 } from '../protocol/frame-build';
import { MtuSearch } from './mtu-search';
import { peerVerdict, type DirectionReport, type MtuInterfaceReport, type MtuPeerReport, type MtuReport } from './mtu-report';
import { Pacer } from './pace';
import { buildProbeFrame } from './probe-frame';
import { sleep, type ProbeSession } from './session';

export interface MtuRunOptions {
  /** Only this peer: its MAC (remote or source) or IP. */
  readonly peer?: string;
  /** How long to wait for each answer (ms). */
  readonly waitMs: number;
  /** Losses in a row before a size counts as too big. */
  readonly tries: number;
  /** Probes per second. */
  readonly rate: number;
  /** Probes in all, for the whole run. */
  readonly maxProbes: number;
}

export const DEFAULT_MTU_OPTIONS: MtuRunOptions = { waitMs: 400, tries: 2, rate: 20, maxProbes: 1000 };

interface Peer {
  readonly mac: string; // remote.mac_address, else the frame's source MAC
  readonly l2: string; // the frame's source MAC: where to send
  readonly ip: string;
  readonly name?: string;
  readonly ack?: MtuProbeAck;
}

export async function runMtu(s: ProbeSession, o: MtuRunOptions): Promise<MtuReport> {
  const pacer = new Pacer(o.rate, Date.now(), o.maxProbes);
  const interfaces: MtuInterfaceReport[] = [];
  for (const iface of s.interfaces) interfaces.push(await probeInterface(s, iface, o, pacer));
  if (o.peer !== undefined && interfaces.every((i) => i.peers.length === 0)) {
    throw new NetbeaconError(
      'E_PEER_NOT_FOUND',
      `peer ${o.peer} did not answer on ${s.interfaces.map((i) => i.name).join(', ')} (is a netbeacon agent or MAAS rack running there, with this secret?)`,
    );
  }
  return { interfaces };
}

async function probeInterface(s: ProbeSession, iface: HostInterface, o: MtuRunOptions, pacer: Pacer): Promise<MtuInterfaceReport> {
  const base = { interface: iface.name, interface_mtu: iface.mtu };
  if (iface.mtu < MIN_PROBE_SIZE) return { ...base, note: `MTU below ${MIN_PROBE_SIZE}: not probed`, peers: [] };
  let peers = await findPeers(s, iface, pacer);
  if (o.peer !== undefined) {
    const want = o.peer.toLowerCase();
    peers = peers.filter((p) => p.mac === want || p.l2 === want || p.ip === o.peer);
  }
  const reports: MtuPeerReport[] = [];
  for (const p of peers) reports.push(await probePeer(s, iface, p, o, pacer));
  return { ...base, ...(peers.length === 0 ? { note: 'no peer answered' } : {}), peers: reports };
}

async function send(s: ProbeSession, iface: HostInterface, frame: Buffer, pacer: Pacer): Promise<boolean> {
  for (;;) {
    const wait = pacer.waitMs(Date.now());
    if (wait === Number.POSITIVE_INFINITY) return false;
    if (wait > 0) await sleep(wait);
    if (pacer.grant(1, Date.now()) === 1) break;
  }
  s.raw!.send(iface.name, frame);
  return true;
}

async function findPeers(s: ProbeSession, iface: HostInterface, pacer: Pacer): Promise<Peer[]> {
  const ulids = new Set<string>();
  const peers = new Map<string, Peer>();
  const stop = s.onRecord((r) => {
    if (r.interface !== iface.name || !r.verdict.ok || r.verdict.type !== 'advertisement') return;
    const acks = r.verdict.payload?.acks;
    if (typeof acks !== 'string' || !ulids.has(acks.toUpperCase())) return;
    const remote = r.verdict.payload?.remote as { mac_address?: unknown; name?: unknown } | undefined;
    const mac = (typeof remote?.mac_address === 'string' ? remote.mac_address : r.frame.sourceMac).toLowerCase();
    const known = peers.get(mac);
    const ack = readMtuProbeAck(r.verdict.payload) ?? known?.ack;
    const name = typeof remote?.name === 'string' ? remote.name : undefined;
    peers.set(mac, { mac, l2: r.frame.sourceMac.toLowerCase(), ip: r.frame.sourceIp, ...(name ? { name } : {}), ...(ack ? { ack } : {}) });
  });
  try {
    for (let i = 0; i < 3 && peers.size === 0; i++) {
      const p = buildProbeFrame(s.key.objects, { iface, extra: { mtu_probe: {} }, nowMs: Date.now() });
      ulids.add(p.ulid.toUpperCase());
      if (!(await send(s, iface, p.frame, pacer))) break;
      await sleep(500);
    }
    // Stragglers: every peer on the link answers the same multicast.
    if (peers.size > 0) await sleep(500);
  } finally {
    stop();
  }
  return [...peers.values()].sort((a, b) => (a.mac < b.mac ? -1 : 1));
}

async function probePeer(s: ProbeSession, iface: HostInterface, p: Peer, o: MtuRunOptions, pacer: Pacer): Promise<MtuPeerReport> {
  const to = { destinationMac: p.l2, destinationIp: isUnicastV4(p.ip) ? p.ip : GROUP4 };
  const fromPeer = (r: LiveRecord) => r.interface === iface.name && (r.frame.sourceMac.toLowerCase() === p.l2 || r.frame.sourceIp === p.ip);
  const perSearch = Math.max(1, Math.floor(o.maxProbes / 2));

  const forwardSearch = new MtuSearch({ min: MIN_PROBE_SIZE, max: Math.min(iface.mtu, MAX_PROBE_SIZE), tries: o.tries, maxProbes: perSearch });
  let forwardNote: string | undefined;
  const attempts = new Attempts(o.waitMs);
  for (let size = forwardSearch.next(); size !== undefined; size = forwardSearch.next()) {
    const probe = buildProbeFrame(s.key.objects, { iface, ...to, extra: { mtu_probe: {} }, ipLength: size, nowMs: Date.now() });
    const { ulids, waitMs } = attempts.next(size, probe.ulid);
    const answer = s.waitForAck(ulids, waitMs, fromPeer);
    if (!(await send(s, iface, probe.frame, pacer))) {
      forwardNote = 'stopped: the run reached its probe limit';
      break;
    }
    forwardSearch.record((await answer) !== undefined);
  }
  const forward: DirectionReport = { ...forwardSearch.result(), ...(forwardNote ? { note: forwardNote } : {}) };

  let reverse: DirectionReport;
  if (p.ack === undefined) {
    reverse = { path_mtu: null, probes: 0, incomplete: false, note: 'the peer does not answer MTU probes (not a netbeacon agent)' };
  } else {
    reverse = await reverseSearch(s, iface, p, p.ack.interface_mtu, to, fromPeer, o, pacer, perSearch);
  }
  const verdict = peerVerdict(iface.mtu, forward, reverse);
  return {
    mac: p.mac,
    ip: p.ip,
    ...(p.name !== undefined ? { name: p.name } : {}),
    interface_mtu: iface.mtu,
    peer_interface_mtu: p.ack?.interface_mtu ?? null,
    forward,
    reverse,
    ...verdict,
  };
}

async function reverseSearch(
  s: ProbeSession,
  iface: HostInterface,
  p: Peer,
  peerMtu: number,
  to: { destinationMac: string; destinationIp: string },
  fromPeer: (r: LiveRecord) => boolean,
  o: MtuRunOptions,
  pacer: Pacer,
  maxProbes: number,
): Promise<DirectionReport> {
  if (peerMtu < MIN_PROBE_SIZE) return { path_mtu: null, probes: 0, incomplete: false, note: `the peer's MTU (${peerMtu}) is below ${MIN_PROBE_SIZE}` };
  const search = new MtuSearch({ min: MIN_PROBE_SIZE, max: Math.min(peerMtu, MAX_PROBE_SIZE), tries: o.tries, maxProbes });
  const attempts = new Attempts(o.waitMs);
  for (let size = search.next(); size !== undefined; size = search.next()) {
    const probe = buildProbeFrame(s.key.objects, { iface, ...to, extra: { mtu_probe: { reply_size: size } }, nowMs: Date.now() });
    const { ulids, waitMs } = attempts.next(size, probe.ulid);
    const answer = s.waitForAck(ulids, waitMs, fromPeer);
    if (!(await send(s, iface, probe.frame, pacer))) return { ...search.result(), note: 'stopped: the run reached its probe limit' };
    const r = await answer;
    if (r !== undefined && r.verdict.ok && readMtuProbeAck(r.verdict.payload)?.reply_size === undefined) {
      return {
        path_mtu: null,
        probes: search.result().probes + 1,
        incomplete: false,
        note: `${p.mac} cannot pad its replies (no raw send there: native addon missing)`,
      };
    }
    search.record(r !== undefined && ipLength(r.frame.payloadLength, r.frame.sourceIp) >= size);
  }
  return search.result();
}

/**
 * The probes sent for one size. A retry waits twice as long as the try
 * before, and an answer to any earlier probe of the same size still counts:
 * on a busy peer an answer can come late, and a late answer proves the
 * size crossed as well as a prompt one. Without this a loaded host reads
 * as a narrow path.
 */
class Attempts {
  #size: number | undefined;
  #ulids: string[] = [];
  constructor(private readonly baseMs: number) {}

  next(size: number, ulid: string): { ulids: readonly string[]; waitMs: number } {
    if (size !== this.#size) {
      this.#size = size;
      this.#ulids = [];
    }
    this.#ulids.push(ulid);
    return { ulids: [...this.#ulids], waitMs: this.baseMs * 2 ** (this.#ulids.length - 1) };
  }
}

function isUnicastV4(ip: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || ip === '0.0.0.0') return false;
  const first = Number(ip.split('.')[0]);
  return first < 224;
}
