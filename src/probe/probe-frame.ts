/**
 * Solicitation frames for MTU and VLAN probes: a beacon (padded to an
 * exact size when asked) in Ethernet / tags / IPv4 with DF / UDP 5240.
 * Pure given the key and the clock (the pad text is random unless given).
 */
import type { FernetKeyObjects } from '../protocol/fernet';
import { IPV4_UDP_OVERHEAD } from '../protocol/extensions';
import { encodeBeacon } from '../protocol/beacon';
import { cidrOf, describeInterface, ipv4Addresses, type HostInterface } from '../topology/interfaces';
import { buildUdp4Frame, GROUP4, GROUP4_MAC, type VlanTag } from '../protocol/frame-build';
import { encodePadded } from '../protocol/padding';

export const BEACON_PORT = 5240;

export interface ProbeFrameSpec {
  /** The sending interface (its MAC and first IPv4 address are the source). */
  readonly iface: HostInterface;
  /** Ethernet and IP destination; the IPv4 beacon group by default. */
  readonly destinationMac?: string;
  readonly destinationIp?: string;
  readonly tags?: readonly VlanTag[];
  /** The VID to claim in `remote.vid` (the VLAN the probe is sent on). */
  readonly vid?: number;
  /** Extra payload keys: mtu_probe, vlan_probe. */
  readonly extra: Record<string, unknown>;
  /** Pad to this IPv4 length; undefined: as short as the payload allows. */
  readonly ipLength?: number;
  readonly nowMs: number;
  readonly padText?: string;
}

export interface ProbeFrame {
  readonly frame: Buffer;
  readonly ulid: string;
  /** The IPv4 datagram length of the probe. */
  readonly ipLength: number;
}

/** The probe's IPv4 source: the interface's first address, or 0.0.0.0 on an interface without one. */
export function probeSourceIp(iface: HostInterface): string {
  return ipv4Addresses(iface)[0]?.address ?? '0.0.0.0';
}

/** The `remote` block describing the sending interface, with the VLAN it is probing. */
export function probeRemote(iface: HostInterface, vid?: number): Record<string, unknown> {
  const v4 = ipv4Addresses(iface)[0];
  const remote = describeInterface(iface, v4 ? cidrOf(v4) : null);
  return vid === undefined ? remote : { ...remote, vid };
}

/**
 * Builds one probe. An `mtu_probe` in `extra` gets its `size` filled in
 * with the probe's real IPv4 length, so the peer can compare.
 */
export function buildProbeFrame(keys: FernetKeyObjects, spec: ProbeFrameSpec): ProbeFrame {
  if (spec.iface.mac === null) throw new RangeError(`${spec.iface.name} has no MAC address: cannot send Ethernet frames from it`);
  const wantsSize = typeof spec.extra.mtu_probe === 'object' && spec.extra.mtu_probe !== null;
  const payloadFor = (size: number): Record<string, unknown> => ({
    remote: probeRemote(spec.iface, spec.vid),
    ...spec.extra,
    ...(wantsSize ? { mtu_probe: { ...(spec.extra.mtu_probe as object), size } } : {}),
  });
  let ipLength = spec.ipLength;
  let beacon: { bytes: Buffer; ulid: string };
  if (ipLength === undefined && !wantsSize) {
    // No size to meet or report (a VLAN probe): one plain encode. Padding
    // costs a bisection of encodes, which a scan of thousands of VIDs
    // cannot afford on the thread that also drains the capture.
    beacon = encodeBeacon(keys, 'solicitation', payloadFor(0), { nowMs: spec.nowMs });
    ipLength = beacon.bytes.length + IPV4_UDP_OVERHEAD;
  } else {
    if (ipLength === undefined) {
      // As short as it goes, but exact: BSON stores the size as a fixed
      // 4-byte int, so the value does not change the length; a little room
      // is left for gzip choosing differently, and filled.
      ipLength = encodeBeacon(keys, 'solicitation', payloadFor(0), { nowMs: spec.nowMs }).bytes.length + IPV4_UDP_OVERHEAD + 16;
    }
    beacon = encodePadded(keys, 'solicitation', payloadFor(ipLength), ipLength - IPV4_UDP_OVERHEAD, { nowMs: spec.nowMs, padText: spec.padText });
  }
  const frame = buildUdp4Frame({
    destinationMac: spec.destinationMac ?? GROUP4_MAC,
    sourceMac: spec.iface.mac,
    tags: spec.tags ?? [],
    sourceIp: probeSourceIp(spec.iface),
    destinationIp: spec.destinationIp ?? GROUP4,
    sourcePort: BEACON_PORT,
    destinationPort: BEACON_PORT,
    // Link-local, as every beacon: a probe measures this link, not a route.
    ttl: 1,
    dontFragment: true,
    payload: beacon.bytes,
  });
  return { frame, ulid: beacon.ulid, ipLength };
}
