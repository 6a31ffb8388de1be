/** One packet read from a capture file or a live capture. */
export interface CapturedPacket {
  /** Capture time, seconds since the epoch (fractional). */
  readonly time: number;
  /** The bytes captured (possibly fewer than were on the wire). */
  readonly data: Uint8Array;
  /** Length on the wire. */
  readonly wireLength: number;
  /** Interface name, when the capture names one (pcapng if_name, live capture). */
  readonly interface?: string;
  /**
   * A VLAN tag the kernel stripped from the frame before capture (live
   * AF_PACKET: tp_vlan_tci with TP_STATUS_VLAN_VALID). Absent for files.
   */
  readonly strippedTci?: number;
  readonly strippedTpid?: number;
}
