/**
 * How the agent answers the solicitations that ask for more than MAAS
 * gives: the pure decision between the core's reply (AgentCore decides
 * *whether* to answer) and the daemon's sockets (which perform it).
 *
 * The core's reply to a solicitation is a unicast advertisement sent by
 * dgram. This module passes it through unchanged unless the solicitation
 * carries a netbeacon key asking for something else (see
 * protocol/extensions.ts), so a MAAS solicitor sees exactly MAAS's
 * behaviour. It changes the reply for:
 *
 * - `mtu_probe` (IPv4 only): the reply carries `mtu_probe_ack` (the IPv4
 *   length received, the receiving interface's MTU) and goes as a raw
 *   frame with DF set, to the prober's MAC; with `reply_size` it is padded
 *   to that IPv4 length, capped at the sending interface's MTU. Raw, so
 *   that the reply's size and DF bit are what the prober asked for: dgram
 *   would fragment a reply over the route's MTU instead of losing it.
 * - `vlan_probe` received with a VID for which no monitored interface is a
 *   VLAN on the receiving one: the reply goes raw, with the same tags
 *   (802.1Q, inside 802.1ad when the probe had two), to the prober's MAC.
 *   By dgram it would leave untagged, on the wrong VLAN or none.
 *
 * When raw sending is unavailable (no native addon) or the probe came over
 * IPv6, the reply falls back to dgram with the ack keys added, so the
 * prober still learns the forward direction.
 *
 * Also: `ignoreVids` drops the reply to any solicitation received with one
 * of those VIDs (a test and operations knob: it makes a VLAN look
 * unreachable without touching the switch).
 *
 * Raw replies are rate-limited per prober and in total (token buckets from
 * policy/ratelimit.ts): padded ones tightly, because a 100-byte probe can
 * ask for a 9 KB answer; the others loosely enough that a VLAN scan at the
 * default 200 frames/s is answered in full.
 */
import { isIPv4 } from 'node:net';
import type { AgentAction, ReplyAction } from '../topology/core';
import type { FrameInfo } from '../protocol/frame-types';
import { ipLength, MAX_PROBE_SIZE, readMtuProbe, readVlanProbe, type MtuProbeAck } from '../protocol/extensions';
import type { HostInterface } from '../topology/interfaces';
import { ReplyLimiter, type BucketConfig, type ReplyLimitOptions, type ReplyLimitStats } from './ratelimit';
import { vlanStack, type VlanTag } from '../protocol/frame-build';

/** A reply to send as a whole Ethernet frame (raw), built by the daemon's RawReplier. */
export interface RawReplyAction {
  readonly kind: 'raw_unicast_advertisement';
  /** The interface to send on. */
  readonly interface: string;
  /** The segment's VID, for the transmit record. */
  readonly vid?: number;
  /** Outermost first; empty when untagged. */
  readonly tags: readonly VlanTag[];
  readonly source_mac: string;
  readonly destination_mac: string;
  readonly source_ip: string;
  readonly destination_ip: string;
  readonly destination_port: number;
  /** What to encode (the encoder adds `ulid` and `type`). */
  readonly payload: Record<string, unknown>;
  /** Pad the reply to this IPv4 length (a reverse MTU probe). */
  readonly pad_to?: number;
}

export type AnswerAction = AgentAction | RawReplyAction;

export interface AnswerOptions {
  /** Whether raw frames can be sent here (the native addon loads). */
  readonly rawAvailable: boolean;
  /** Solicitations received with these VIDs get no reply. */
  readonly ignoreVids?: Iterable<number>;
  /** Limits on raw replies that are not padded. */
  readonly rawLimits?: ReplyLimitOptions;
  /** Limits on padded replies. */
  readonly paddedLimits?: ReplyLimitOptions;
}

export interface AnswerInput {
  /** The frame the solicitation arrived in. */
  readonly frame: FrameInfo;
  /** Its decoded payload. */
  readonly payload: Readonly<Record<string, unknown>> | null;
  /** The monitored interfaces, by name. */
  readonly interfaces: ReadonlyMap<string, HostInterface>;
}

export interface AnswerStats {
  readonly ignored_vid: number;
  readonly mtu_acks: number;
  readonly padded: number;
  readonly vlan_raw: number;
  /** Answers that wanted raw but went by dgram (no addon, IPv6, no MAC). */
  readonly dgram_fallback: number;
  readonly raw_limiter: ReplyLimitStats;
  readonly padded_limiter: ReplyLimitStats;
}

/**
 * Unpadded raw replies: 250/s per prober, burst 500, and 500/s in total:
 * a scan of every VLAN at 200 frames/s is answered in full, and a host
 * reflects at most ~50 kB/s of small replies.
 */
export const DEFAULT_RAW_LIMITS: { perPeer: BucketConfig; total: BucketConfig } = {
  perPeer: { ratePerSecond: 250, burst: 500 },
  total: { ratePerSecond: 500, burst: 1000 },
};
/**
 * Padded replies: 20/s per prober, burst 40, and 50/s in total. A reverse
 * MTU search needs about 30 probes; 50 replies of 9 KB a second bound the
 * amplification at under half a megabyte a second.
 */
export const DEFAULT_PADDED_LIMITS: { perPeer: BucketConfig; total: BucketConfig } = {
  perPeer: { ratePerSecond: 20, burst: 40 },
  total: { ratePerSecond: 50, burst: 100 },
};

export class ProbeAnswerer {
  readonly #raw: boolean;
  readonly #ignore: ReadonlySet<number>;
  readonly #rawLimiter: ReplyLimiter;
  readonly #paddedLimiter: ReplyLimiter;
  #ignored = 0;
  #mtuAcks = 0;
  #padded = 0;
  #vlanRaw = 0;
  #fallback = 0;

  constructor(opts: AnswerOptions, nowMs = 0) {
    this.#raw = opts.rawAvailable;
    this.#ignore = new Set(opts.ignoreVids ?? []);
    this.#rawLimiter = new ReplyLimiter(opts.rawLimits ?? DEFAULT_RAW_LIMITS, nowMs);
    this.#paddedLimiter = new ReplyLimiter(opts.paddedLimits ?? DEFAULT_PADDED_LIMITS, nowMs);
  }

  /**
   * The core's actions for one received beacon, with its reply (if any)
   * replaced by what should really be sent. Other actions pass through.
   */
  plan(actions: readonly AgentAction[], input: AnswerInput, nowMs: number): AnswerAction[] {
    const out: AnswerAction[] = [];
    for (const a of actions) {
      if (a.kind !== 'unicast_advertisement') out.push(a);
      else {
        const r = this.#answer(a, input, nowMs);
        if (r) out.push(r);
      }
    }
    return out;
  }

  stats(): AnswerStats {
    return {
      ignored_vid: this.#ignored,
      mtu_acks: this.#mtuAcks,
      padded: this.#padded,
      vlan_raw: this.#vlanRaw,
      dgram_fallback: this.#fallback,
      raw_limiter: this.#rawLimiter.stats(),
      padded_limiter: this.#paddedLimiter.stats(),
    };
  }

  #answer(a: ReplyAction, input: AnswerInput, nowMs: number): AnswerAction | undefined {
    if (a.vid !== undefined && this.#ignore.has(a.vid)) {
      this.#ignored++;
      return undefined;
    }
    const { frame, payload, interfaces } = input;
    const mtu = readMtuProbe(payload);
    const vlan = readVlanProbe(payload);
    if (!mtu && !vlan) return a; // MAAS's answer, untouched

    const rxIface = interfaces.get(a.interface);
    // A monitored VLAN interface on the receiving one, for the received VID:
    // the reply can leave through it, untagged, and the kernel tags it.
    const vlanIface = a.vid === undefined ? undefined : [...interfaces.values()].find((i) => i.vid === a.vid && i.parents.includes(a.interface));
    const out = vlanIface ?? rxIface;
    const ack: MtuProbeAck | undefined = mtu && {
      size: mtu.size ?? null,
      received: ipLength(frame.payloadLength, frame.sourceIp),
      interface_mtu: out?.mtu ?? 0,
    };
    if (ack) this.#mtuAcks++;
    const extra: Record<string, unknown> = ack ? { mtu_probe_ack: ack } : {};

    const wantsRaw = mtu !== undefined || (vlan !== undefined && a.vid !== undefined && vlanIface === undefined);
    if (!wantsRaw) return withPayload(a, extra);
    if (!this.#raw || !out || out.mac === null || !isIPv4(frame.sourceIp) || !isIPv4(a.destination_ip)) {
      this.#fallback++;
      return withPayload(a, extra);
    }

    const padTo = mtu?.reply_size === undefined ? undefined : Math.min(mtu.reply_size, out.mtu, MAX_PROBE_SIZE);
    const limiter = padTo === undefined ? this.#rawLimiter : this.#paddedLimiter;
    if (limiter.decide({ mac: frame.sourceMac, ip: frame.sourceIp }, nowMs).kind === 'hold') return undefined;
    if (padTo !== undefined) this.#padded++;
    if (vlanIface === undefined && a.vid !== undefined) this.#vlanRaw++;

    const raw: RawReplyAction = {
      kind: 'raw_unicast_advertisement',
      interface: out.name,
      tags: vlanIface ? [] : vlanStack(a.vid, frame.outerVid),
      source_mac: out.mac,
      destination_mac: frame.sourceMac,
      source_ip: sourceAddress(out, a.destination_ip),
      destination_ip: a.destination_ip,
      destination_port: a.destination_port,
      payload: { ...a.payload, ...(ack ? { mtu_probe_ack: padTo === undefined ? ack : { ...ack, reply_size: padTo } } : {}) },
      ...(a.vid !== undefined ? { vid: a.vid } : {}),
      ...(padTo !== undefined ? { pad_to: padTo } : {}),
    };
    return raw;
  }
}

function withPayload(a: ReplyAction, extra: Record<string, unknown>): ReplyAction {
  if (Object.keys(extra).length === 0) return a;
  // The core types its reply payload as {remote, acks}; extra keys ride along.
  return { ...a, payload: { ...a.payload, ...extra } };
}

/**
 * The IPv4 source for a raw reply: the interface's address on the
 * destination's subnet, else its first IPv4 address, else 0.0.0.0 (an
 * interface with no address still answers; the prober matches by ULID).
 */
export function sourceAddress(iface: HostInterface, destination: string): string {
  const v4 = iface.addresses.filter((x) => x.family === 4 && isIPv4(x.address));
  const same = v4.find((x) => sameSubnet(x.address, destination, x.prefixlen));
  return (same ?? v4[0])?.address ?? '0.0.0.0';
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n << 8) | Number(o), 0) >>> 0;
}

export function sameSubnet(a: string, b: string, prefixlen: number): boolean {
  if (!isIPv4(a) || !isIPv4(b)) return false;
  const mask = prefixlen === 0 ? 0 : (~0 << (32 - prefixlen)) >>> 0;
  return (toInt(a) & mask) >>> 0 === (toInt(b) & mask) >>> 0;
}
