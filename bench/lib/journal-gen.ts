/**
 * A generated agent journal for the correlate case: one host on a network
 * of peers whose cables move, written in the journal format `netbeacon
 * replay` reads (tx lines as the agent writes them, rx lines as observe
 * prints them plus `interface`), seeded so that every run and every engine
 * reads the same bytes.
 *
 * Modelled on the MAAS ageing vectors (../shared/vectors/maas/ageing/):
 * - the host has `hostInterfaces` interfaces spread over `fabrics` bridges;
 *   `peers` peers have one or two legs each (some on VLANs, tagged on the
 *   host's side), on a bridge each;
 * - every leg multicasts a solicitation every 30 s (repeated 3 s later);
 *   every host interface on its bridge receives it, and the host answers
 *   each copy with a unicast advertisement and (at most every 5 s) a round
 *   of multicast advertisements, which its other interfaces on the same
 *   bridge receive back (own beacons);
 * - the host solicits every 30 s on every interface; the legs on that
 *   bridge answer by unicast, and its other interfaces hear the solicitation;
 * - 1% of receptions are replayed a little later, 2% arrive late (up to
 *   40 s after their ULID's time), 0.5% are old-protocol, 1% lack `remote`;
 * - every `moveEverySeconds` a cable moves: a peer leg or a host interface
 *   to another bridge.
 * Lines are written in time order; the clock starts at `startSeconds`.
 */

export interface JournalSpec {
  readonly seed: number;
  readonly lines: number;
  readonly hostInterfaces: number;
  readonly fabrics: number;
  readonly peers: number;
  readonly moveEverySeconds: number;
  readonly startSeconds: number;
}

export const DEFAULT_JOURNAL: JournalSpec = {
  seed: 15,
  lines: 69_000,
  hostInterfaces: 6,
  fabrics: 3,
  peers: 40,
  moveEverySeconds: 45,
  startSeconds: 1_795_600_000,
};

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MCAST = '224.0.0.118';
const MCAST_MAC = '01:00:5e:00:00:76';

interface Leg {
  readonly name: string;
  readonly mac: string;
  readonly ip: string;
  /** The VID in the peer's `remote` block, when the leg is a VLAN interface. */
  readonly vid?: number;
  /** The tag the host sees on this leg's frames. */
  readonly tag?: number;
  fabric: number;
}

interface HostIf {
  readonly name: string;
  readonly mac: string;
  readonly ip: string;
  fabric: number;
}

interface Pending {
  readonly time: number;
  readonly seq: number;
  readonly line: string;
}

/** mulberry32: the same sequence from a seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The journal, one JSON object a line, each line ending in "\n". */
export function generateJournal(spec: JournalSpec = DEFAULT_JOURNAL): string[] {
  const rand = prng(spec.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ulid = (timeMs: number): string => {
    let s = '';
    let t = Math.floor(timeMs);
    for (let i = 0; i < 10; i++) {
      s = CROCKFORD[t % 32]! + s;
      t = Math.floor(t / 32);
    }
    for (let i = 0; i < 16; i++) s += CROCKFORD[Math.floor(rand() * 32)]!;
    return s;
  };
  const host: HostIf[] = [];
  for (let i = 0; i < spec.hostInterfaces; i++) {
    host.push({ name: i < 2 ? `eth${i}` : `eno${i + 1}`, mac: `52:54:0f:01:00:${hex2(i)}`, ip: `10.0.${i}.5`, fabric: i % spec.fabrics });
  }
  const legs: Leg[] = [];
  for (let p = 0; p < spec.peers; p++) {
    const n = rand() < 0.3 ? 2 : 1;
    for (let l = 0; l < n; l++) {
      const vlan = rand() < 0.25;
      const vid = vlan ? pick([10, 42, 100]) : undefined;
      const name = vlan ? `bond${l}.${vid}` : pick(['eth', 'ens', 'br']) + String(l + 1);
      const tag = vlan && rand() < 0.5 ? vid : undefined;
      legs.push({
        name,
        mac: `52:54:0f:${hex2(16 + (p >> 8))}:${hex2(p & 0xff)}:${hex2(l)}`,
        ip: `10.1.${p}.${l + 1}`,
        ...(vid === undefined ? {} : { vid }),
        ...(tag === undefined ? {} : { tag }),
        fabric: Math.floor(rand() * spec.fabrics),
      });
    }
  }
  const remoteOf = (name: string, mac: string, vid?: number): Record<string, unknown> => ({
    type: 'physical',
    mac_address: mac,
    parents: [],
    name,
    subnet: null,
    ...(vid === undefined ? {} : { vid }),
  });

  const out: string[] = [];
  const pending: Pending[] = [];
  let seq = 0;
  const later = (time: number, line: string): void => void pending.push({ time, seq: seq++, line });
  const flushUntil = (time: number): void => {
    pending.sort((a, b) => a.time - b.time || a.seq - b.seq);
    let i = 0;
    while (i < pending.length && pending[i]!.time <= time && out.length < spec.lines) out.push(pending[i++]!.line);
    pending.splice(0, i);
  };
  const tx = (time: number, ifc: HostIf, dst: string, type: 'solicitation' | 'advertisement', ulidText: string, acks?: string): void => {
    const payload = { remote: remoteOf(ifc.name, ifc.mac), ulid: ulidText, type: type === 'solicitation' ? 1 : 2, ...(acks ? { acks } : {}) };
    later(time, JSON.stringify({ direction: 'tx', interface: ifc.name, time, destination_ip: dst, destination_port: 5240, version: 2, type, payload }) + '\n');
  };
  /** A reception, perhaps late, replayed, old-protocol or without `remote`. */
  const rx = (
    sentMs: number,
    on: HostIf,
    from: { mac: string; ip: string; tag?: number },
    dst: string,
    type: 'solicitation' | 'advertisement',
    ulidText: string,
    remote: Record<string, unknown>,
    acks?: string,
  ): void => {
    const late = rand() < 0.02 ? rand() * 40 : 0;
    const time = Math.round(sentMs + 1 + rand() * 20) / 1000 + late;
    const payload: Record<string, unknown> = { ulid: ulidText, type: type === 'solicitation' ? 1 : 2 };
    if (rand() >= 0.01) payload.remote = remote;
    if (acks) payload.acks = acks;
    const obj: Record<string, unknown> = {
      source_mac: from.mac,
      destination_mac: dst === MCAST ? MCAST_MAC : on.mac,
      source_ip: from.ip,
      destination_ip: dst,
      source_port: 5240,
      destination_port: 5240,
      time,
      ...(from.tag === undefined ? {} : { vid: from.tag }),
      version: rand() < 0.005 ? 1 : 2,
      type,
      payload,
      interface: on.name,
      direction: 'rx',
    };
    const line = JSON.stringify(obj) + '\n';
    later(time, line);
    if (rand() < 0.01) {
      const again = time + Math.round(rand() * 5000) / 1000;
      later(again, JSON.stringify({ ...obj, time: again }) + '\n');
    }
  };

  const startMs = spec.startSeconds * 1000;
  // Every leg and host interface has its own phase in the 30 s round.
  const legPhase = legs.map(() => rand() * 30_000);
  const hostPhase = rand() * 30_000;
  let lastMcastAdv = -Infinity;
  let nextMove = startMs + spec.moveEverySeconds * 1000;
  const STEP = 100;
  for (let now = startMs; out.length < spec.lines; now += STEP) {
    if (now >= nextMove) {
      nextMove += spec.moveEverySeconds * 1000;
      if (rand() < 0.7) pick(legs).fabric = Math.floor(rand() * spec.fabrics);
      else pick(host).fabric = Math.floor(rand() * spec.fabrics);
    }
    const inRound = (phase: number): boolean => {
      const t = (now - startMs - phase + 30_000) % 30_000;
      return t < STEP || (t >= 3_000 && t < 3_000 + STEP);
    };
    let answer = false;
    legs.forEach((leg, i) => {
      if (!inRound(legPhase[i]!)) return;
      const u = ulid(now);
      for (const h of host) {
        if (h.fabric !== leg.fabric) continue;
        rx(now, h, leg, MCAST, 'solicitation', u, remoteOf(leg.name, leg.mac, leg.vid));
        // The unicast answer from the receiving interface.
        tx(now / 1000 + 0.03, h, leg.ip, 'advertisement', ulid(now + 30), u);
        answer = true;
      }
    });
    if (answer && now - lastMcastAdv >= 5_000) {
      lastMcastAdv = now;
      multicastRound(now + 50, 'advertisement');
    }
    if (inRound(hostPhase)) {
      const sent = multicastRound(now, 'solicitation');
      for (const [h, u] of sent) {
        for (const leg of legs) {
          if (leg.fabric !== h.fabric) continue;
          rx(now + 40, h, leg, h.ip, 'advertisement', ulid(now + 40), remoteOf(leg.name, leg.mac, leg.vid), u);
        }
      }
    }
    // Everything older than the latest lateness can be written out.
    if ((now - startMs) % 10_000 === 0) flushUntil(now / 1000 - 60);
  }
  flushUntil(Infinity);
  return out;

  /** One multicast beacon per host interface; its other interfaces on the same bridge hear each. */
  function multicastRound(atMs: number, type: 'solicitation' | 'advertisement'): Array<[HostIf, string]> {
    const sent: Array<[HostIf, string]> = [];
    for (const h of host) {
      const u = ulid(atMs);
      tx(atMs / 1000, h, MCAST, type, u);
      sent.push([h, u]);
      for (const other of host) if (other !== h && other.fabric === h.fabric) rx(atMs, other, h, MCAST, type, u, remoteOf(h.name, h.mac));
    }
    return sent;
  }
}
