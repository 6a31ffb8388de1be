/** What the link, IP and UDP layers of one captured frame say about a beacon. */
export interface FrameInfo {
  readonly sourceMac: string; // "52:54:00:0a:00:01"
  readonly destinationMac: string;
  /** Innermost 802.1Q/802.1ad VID (TCI & 0x0fff), as MAAS reports it; absent when untagged. */
  readonly vid?: number;
  /** Outer VID when the frame carried two tags (QinQ). */
  readonly outerVid?: number;
  readonly sourceIp: string; // dotted quad, or RFC 5952 IPv6
  readonly destinationIp: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** UDP payload location inside the frame, bounded by the UDP and IP lengths. */
  readonly payloadOffset: number;
  readonly payloadLength: number;
}
