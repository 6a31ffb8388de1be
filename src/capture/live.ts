/**
 * The one interface every live capture engine implements:
 * - live-native.ts: the addon's AF_PACKET rings (TPACKET_V3, in-kernel
 *   BPF, verification on a worker thread, one batch per ring block);
 * - live-tcpdump.ts: tcpdump per interface with MAAS's own options, parsed
 *   and verified in JS;
 * - live-udp.ts: plain UDP sockets joined to the beacon groups (no VID, no
 *   MACs, only interfaces with addresses).
 *
 * Events:
 * - 'beacons' (records: LiveRecord[]): every UDP/5240 datagram received, in
 *   arrival order per interface, each either a decoded beacon or the reason
 *   it was rejected. One event per batch (a read, or a slice of a ring
 *   block: the native engine hands a block over in slices, across turns of
 *   the event loop), never per packet.
 * - 'interface-gone' (gone: InterfaceGone): the interface disappeared (or
 *   its capture died); its capture has ended, the others go on.
 * - 'error' (err: Error): something the caller should log; capture goes on
 *   unless an 'interface-gone' says otherwise.
 */
import type { EventEmitter } from 'node:events';
import type { BeaconVerdict } from '../protocol/verdict';
import type { FrameInfo } from '../protocol/frame-types';

export type LiveEngineName = 'native' | 'tcpdump' | 'udp';

export interface LiveRecord {
  readonly interface: string;
  /** Capture time, seconds since the epoch (fractional). */
  readonly time: number;
  /**
   * Link/IP/UDP fields. The udp engine has no link layer: its MACs are ''
   * and it never has a VID.
   */
  readonly frame: FrameInfo;
  readonly verdict: BeaconVerdict;
  /**
   * True when the kernel says the frame is our own multicast looped back to
   * us (sll_pkttype PACKET_LOOPBACK); native engine only.
   */
  readonly loopback?: boolean;
  /**
   * Fingerprint of the key whose HMAC matched, when the verifier says
   * (a MultiKeyVerifier during a secret rotation; JS engines only).
   */
  readonly keyFingerprint?: string;
}

export interface InterfaceGone {
  readonly interface: string;
  /** An errno name: ENODEV when the device was deleted, or what the capture died of. */
  readonly code: string;
  readonly message: string;
}

/** Per-interface counters since add(). */
export interface RingStats {
  /** Frames the capture delivered (after the in-kernel filter, where there is one). */
  packets: number;
  /**
   * Frames lost for want of buffer space. Native: frames of this interface
   * the worker shed from the shared ring, unparsed, because JS was behind
   * (native/capture.cc); what the kernel itself dropped names no interface
   * and is in sharedRing(). tcpdump: 0 until tcpdump exits.
   */
  drops: number;
  /** Times the ring froze (the kernel reached a block we still held); native: 0 per interface, see sharedRing(). */
  freezes: number;
  /** Authentic, decodable beacons. */
  beacons: number;
  /** UDP/5240 datagrams rejected (any reason). */
  rejected: number;
  /** Frames that passed the kernel filter but are not a whole UDP/5240 datagram (first fragments, malformed). */
  skipped: number;
}

/** The one ring the native capture shares among all its interfaces (native/capture.h, SharedRingStats). */
export interface SharedRingStats {
  /** Bytes per block and blocks: the ring's whole size, whatever the number of interfaces. */
  readonly blockSize: number;
  readonly blockCount: number;
  /** What the kernel counted for the ring's socket: frames that passed the filter, and dropped ones (no interface can be named for these). */
  readonly packets: number;
  readonly drops: number;
  readonly freezes: number;
  /** Frames of interfaces no longer captured (in flight when they were removed). */
  readonly unclaimed: number;
}

export interface LiveCapture extends EventEmitter {
  readonly engine: LiveEngineName;
  /** The shared ring's counters, once open (native only). */
  sharedRing?(): SharedRingStats | undefined;
  /** Starts capturing on an interface; resolves once frames arriving on it will be seen. */
  add(ifname: string): Promise<void>;
  /** Stops capturing on an interface (no-op if not capturing). */
  remove(ifname: string): void;
  stats(): Record<string, RingStats>;
  /** Stops everything and frees it; no event is emitted after it resolves. */
  close(): Promise<void>;
}

export function emptyStats(): RingStats {
  return { packets: 0, drops: 0, freezes: 0, beacons: 0, rejected: 0, skipped: 0 };
}

/** Adds a batch's verdicts to an interface's counters. */
export function countVerdicts(stats: RingStats, records: readonly LiveRecord[]): void {
  for (const r of records) {
    if (r.verdict.ok) stats.beacons++;
    else stats.rejected++;
  }
}
