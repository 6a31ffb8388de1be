/**
 * JS live engine 2: ordinary UDP sockets on port 5240 (address reuse on, as
 * a MAAS rack's own beacon socket), joined to 224.0.0.118 and ff02::15a on
 * each interface. Needs no privilege and no tcpdump, but it sees only what
 * the IP stack delivers, so compared with the capture engines:
 * - no VID: a tagged beacon reaches these sockets only through a configured
 *   VLAN device, and the tag is gone by then;
 * - no unconfigured interfaces: joining the IPv4 group needs an IPv4
 *   address on the interface (IPv6 needs only the link-local one);
 * - no MAC addresses (FrameInfo MACs are ''), and no destination address
 *   (Node does not expose IP_PKTINFO; destinationIp is '');
 * - the receiving interface is inferred: from the scope of an IPv6
 *   link-local source, else from the interface whose IPv4 subnet holds the
 *   source, else the only interface if just one was added;
 * - unicast to port 5240 goes to only one of several sockets bound with
 *   address reuse (Linux picks one), so another local listener can take it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { BatchVerifier } from '../engine/types';
import type { FrameInfo } from '../protocol/frame-types';
import { countVerdicts, emptyStats, type LiveCapture, type RingStats } from './live';
import { verifyDatagrams, type Datagram } from './live-js';

export const BEACON_GROUP_V4 = '224.0.0.118';
export const BEACON_GROUP_V6 = 'ff02::15a';
const PORT = 5240;
/** How often an added interface is checked for existence (no socket error tells us). */
const GONE_CHECK_MS = 1000;

interface Tap {
  readonly v4: { address: string; network: number; mask: number }[];
  readonly stats: RingStats;
}

export class UdpLiveCapture extends EventEmitter implements LiveCapture {
  readonly engine = 'udp' as const;
  private readonly taps = new Map<string, Tap>();
  private sock4: Socket | undefined;
  private sock6: Socket | undefined;
  private pending: { iface: string; d: Datagram }[] = [];
  private flushQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly verifier: BatchVerifier) {
    super();
  }

  async add(ifname: string): Promise<void> {
    if (this.closed) throw new Error('capture is closed');
    if (this.taps.has(ifname)) throw new Error(`${ifname}: already capturing`);
    const addrs = networkInterfaces()[ifname];
    if (!addrs || addrs.length === 0) {
      throw new Error(`${ifname}: no addresses; the udp engine can only receive on configured interfaces (use the native or tcpdump engine)`);
    }
    await this.open();
    const v4 = addrs.filter((a) => a.family === 'IPv4');
    for (const a of v4) this.sock4!.addMembership(BEACON_GROUP_V4, a.address);
    if (addrs.some((a) => a.family === 'IPv6')) this.sock6!.addMembership(BEACON_GROUP_V6, `::%${ifname}`);
    this.taps.set(ifname, {
      v4: v4.map((a) => ({ address: a.address, network: ipv4(a.address) & ipv4(a.netmask), mask: ipv4(a.netmask) })),
      stats: emptyStats(),
    });
    this.timer ??= setInterval(() => this.checkGone(), GONE_CHECK_MS).unref();
  }

  remove(ifname: string): void {
    const tap = this.taps.get(ifname);
    if (!tap) return;
    this.taps.delete(ifname);
    for (const a of tap.v4) dropQuietly(() => this.sock4?.dropMembership(BEACON_GROUP_V4, a.address));
    dropQuietly(() => this.sock6?.dropMembership(BEACON_GROUP_V6, `::%${ifname}`));
  }

  stats(): Record<string, RingStats> {
    const out: Record<string, RingStats> = {};
    for (const [name, tap] of this.taps) out[name] = { ...tap.stats };
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.taps.clear();
    await Promise.all([this.sock4, this.sock6].map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve())));
  }

  private async open(): Promise<void> {
    if (this.sock4) return;
    const bind = (s: Socket, address: string): Promise<void> =>
      new Promise((resolve, reject) => {
        s.once('error', reject);
        s.bind({ port: PORT, address, exclusive: false }, () => {
          s.off('error', reject);
          s.on('error', (err) => this.emit('error', err));
          resolve();
        });
      });
    this.sock4 = createSocket({ type: 'udp4', reuseAddr: true });
    this.sock6 = createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
    this.sock4.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port, 4));
    this.sock6.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port, 6));
    await bind(this.sock4, '0.0.0.0');
    await bind(this.sock6, '::');
  }

  private onMessage(msg: Buffer, address: string, port: number, family: 4 | 6): void {
    if (this.closed) return;
    const time = Date.now() / 1000;
    let source = address;
    let iface: string | undefined;
    const pct = address.indexOf('%');
    if (pct >= 0) {
      source = address.slice(0, pct);
      iface = address.slice(pct + 1);
    } else if (family === 4) {
      const a = ipv4(address);
      for (const [name, tap] of this.taps) if (tap.v4.some((v) => (a & v.mask) === v.network)) iface = name;
    }
    if (iface === undefined && this.taps.size === 1) iface = this.taps.keys().next().value;
    if (iface === undefined || !this.taps.has(iface)) return;
    const frame: FrameInfo = {
      sourceMac: '',
      destinationMac: '',
      sourceIp: source,
      destinationIp: '',
      sourcePort: port,
      destinationPort: PORT,
      payloadOffset: 0,
      payloadLength: msg.length,
    };
    this.taps.get(iface)!.stats.packets++;
    this.pending.push({ iface, d: { frame, payload: msg, time } });
    // One verification per burst of datagrams, not per datagram.
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const pending = this.pending;
    this.pending = [];
    const byIface = new Map<string, Datagram[]>();
    for (const p of pending) {
      let list = byIface.get(p.iface);
      if (!list) byIface.set(p.iface, (list = []));
      list.push(p.d);
    }
    for (const [iface, items] of byIface) {
      const tap = this.taps.get(iface);
      if (!tap || this.closed) continue;
      const records = verifyDatagrams(iface, items, this.verifier);
      countVerdicts(tap.stats, records);
      this.emit('beacons', records);
    }
  }

  private checkGone(): void {
    for (const name of [...this.taps.keys()]) {
      if (existsSync(`/sys/class/net/${name}`)) continue;
      this.remove(name);
      this.emit('interface-gone', { interface: name, code: 'ENODEV', message: `interface ${name} is gone` });
    }
  }
}

function ipv4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function dropQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    /* the membership went with the interface or its address */
  }
}
