/**
 * Payload keys netbeacon adds beyond MAAS, and the reading of them. MAAS
 * ignores keys it does not know, so a beacon carrying these still decodes
 * and is still answered by a MAAS rack; netbeacon's extra answers go only
 * to beacons that carry the key asking for them.
 *
 *   role          "region" | "rack" | "node" (agent --role): what the sender is.
 *   maas_url      string: the MAAS URL the sender serves or uses.
 *   mtu_probe     {size, reply_size?}: an MTU probe. `size` is the IPv4
 *                 length of this datagram as sent (header included); a
 *                 netbeacon peer answers with `mtu_probe_ack`. With
 *                 `reply_size` the peer pads its reply (raw, DF set) to that
 *                 IPv4 length, capped at its interface MTU: the reverse
 *                 direction.
 *   mtu_probe_ack {size, received, interface_mtu, reply_size?}: `size` is
 *                 the probe's own claim (null when it had none),
 *                 `received` the IPv4 length the peer captured,
 *                 `interface_mtu` the MTU of the peer's receiving interface,
 *                 `reply_size` the IPv4 length of this padded reply.
 *   vlan_probe    {vid, outer_vid?}: a solicitation sent tagged on purpose;
 *                 a netbeacon peer that has no interface for that VLAN
 *                 answers tagged, raw, to the sender's MAC.
 *   pad           string: filler that makes a probe (or a padded reply) as
 *                 long as asked. Inside the token, so it is authenticated.
 *
 * Every reader type-checks what it reads (the payload is authentic but may
 * come from another implementation) and treats a malformed value as absent.
 */

/** Sizes are IPv4 datagram lengths (what an MTU bounds), 1280 (the IPv6 minimum MTU, a floor every sane link clears) to 9216 (the largest jumbo MTU switches commonly take). */
export const MIN_PROBE_SIZE = 1280;
export const MAX_PROBE_SIZE = 9216;

/** IPv4 header (no options: netbeacon never sends any) plus UDP header. */
export const IPV4_UDP_OVERHEAD = 28;
export const IPV6_UDP_OVERHEAD = 48;

export interface MtuProbe {
  readonly size?: number;
  readonly reply_size?: number;
}

export interface MtuProbeAck {
  readonly size: number | null;
  readonly received: number;
  readonly interface_mtu: number;
  readonly reply_size?: number;
}

export interface VlanProbe {
  readonly vid: number;
  readonly outer_vid?: number;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** `mtu_probe`, when present and well-formed. A `reply_size` out of range reads as not asked for. */
export function readMtuProbe(payload: Readonly<Record<string, unknown>> | null): MtuProbe | undefined {
  const p = payload?.mtu_probe;
  if (!isMapping(p)) return undefined;
  const out: { size?: number; reply_size?: number } = {};
  if (intIn(p.size, 0, 65535)) out.size = p.size;
  if (intIn(p.reply_size, MIN_PROBE_SIZE, MAX_PROBE_SIZE)) out.reply_size = p.reply_size;
  return out;
}

export function readMtuProbeAck(payload: Readonly<Record<string, unknown>> | null): MtuProbeAck | undefined {
  const a = payload?.mtu_probe_ack;
  if (!isMapping(a) || !intIn(a.received, 0, 65535) || !intIn(a.interface_mtu, 0, 65535)) return undefined;
  const size = intIn(a.size, 0, 65535) ? a.size : null;
  const ack: MtuProbeAck = { size, received: a.received, interface_mtu: a.interface_mtu };
  return intIn(a.reply_size, 0, 65535) ? { ...ack, reply_size: a.reply_size } : ack;
}

export function readVlanProbe(payload: Readonly<Record<string, unknown>> | null): VlanProbe | undefined {
  const v = payload?.vlan_probe;
  if (!isMapping(v) || !intIn(v.vid, 0, 4095)) return undefined;
  return intIn(v.outer_vid, 0, 4095) ? { vid: v.vid, outer_vid: v.outer_vid } : { vid: v.vid };
}

/** Any short string: roles a newer peer invents are still worth showing. */
export function readRole(payload: Readonly<Record<string, unknown>> | null): string | undefined {
  const r = payload?.role;
  return typeof r === 'string' && r !== '' && r.length <= 64 ? r : undefined;
}

export function readMaasUrl(payload: Readonly<Record<string, unknown>> | null): string | undefined {
  const u = payload?.maas_url;
  // Bounded: it is printed, and a peer could send a megabyte of it.
  return typeof u === 'string' && u !== '' && u.length <= 2048 ? u : undefined;
}

/** The `acks` of an advertisement: the ULID it answers. */
export function readAcks(payload: Readonly<Record<string, unknown>> | null): string | undefined {
  const a = payload?.acks;
  return typeof a === 'string' && a !== '' ? a : undefined;
}

/** The IP datagram length of a captured UDP datagram, from its UDP payload length and address family. */
export function ipLength(payloadLength: number, sourceIp: string): number {
  return payloadLength + (sourceIp.includes(':') ? IPV6_UDP_OVERHEAD : IPV4_UDP_OVERHEAD);
}
