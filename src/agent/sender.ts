/**
 * The driver that puts beacons on the wire, as a MAAS rack does: one UDP
 * socket per family bound to port 5240 (address reuse on, so a rack's own
 * socket can sit beside it), TTL/hop limit 1, and per interface:
 *   - an IPv4 multicast beacon for each IPv4 address, IP_MULTICAST_IF set to
 *     that address, `remote.subnet` naming that address's network;
 *   - one IPv6 multicast beacon to ff02::15a scoped to the interface (so an
 *     interface with no IPv4 address still gets a link-local beacon), when
 *     the interface has an IPv6 address at all: one with IPv6 disabled
 *     (net.ipv6.conf.IF.disable_ipv6, common on a rack's VLANs) has none,
 *     and every send to it would fail with EADDRNOTAVAIL, a warning per
 *     interface four times a minute.
 * Unicast replies go to the solicitation's source address and port.
 *
 * A multicast round (multicastAll) builds every beacon of the round first
 * and seals its v2 beacons in one BeaconSealer call (src/engine/: one
 * crossing into the addon with the native engine); v3 beacons are sealed
 * one at a time (libsodium). Sends are then serialised: IP_MULTICAST_IF is
 * socket state, and Node's send resolves the address asynchronously, so the
 * next beacon's interface is set only once the previous one has left.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { JsBeaconSealer } from '../engine/js-sealer';
import type { BeaconSealer } from '../engine/types';
import { beaconBson, encodeBeacon, FORMAT_VERSION, newUlid, type BeaconFormat } from '../protocol/beacon';
import type { FernetKeyObjects } from '../protocol/fernet';
import { BEACON_TYPES, type BeaconTypeName } from '../protocol/header';
import { cidrOf, describeInterface, ipv4Addresses, type HostInterface } from '../topology/interfaces';

export const BEACON_PORT = 5240;
export const MCAST_V4 = '224.0.0.118';
export const MCAST_V6 = 'ff02::15a';

/** What was sent, for correlation and the journal. */
export interface SentRecord {
  readonly ulid: string;
  readonly interface: string;
  readonly vid?: number;
  readonly time: number; // seconds
  readonly destination_ip: string;
  readonly destination_port: number;
  readonly version: number;
  readonly type: BeaconTypeName;
  readonly payload: Record<string, unknown>;
}

export interface SendFailure {
  readonly interface: string;
  readonly destination: string;
  readonly error: string;
  /** The system error's code (EADDRNOTAVAIL, ENETUNREACH, …) when there is one. */
  readonly code?: string;
}

/** A SendFailure for `err`, keeping its system error code. */
export function sendFailure(iface: string, destination: string, err: unknown): SendFailure {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return {
    interface: iface,
    destination,
    error: err instanceof Error ? err.message : String(err),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

export interface SenderOptions {
  readonly port?: number;
  readonly clock?: () => number; // ms
  /** Extra keys every payload carries (role, maas_url, …). MAAS ignores keys it does not know. */
  readonly extraPayload?: Record<string, unknown>;
  /** The formats multicast beacons go out in, each its own beacon (own ULID); default [v2]. */
  readonly formats?: readonly BeaconFormat[];
  /** Seals the v2 beacons, a round at a time (src/engine/select.ts picks the engine); JS by default. */
  readonly sealer?: BeaconSealer;
}

/** One beacon of a round, built and sealed before any is sent. */
interface Planned {
  readonly iface: HostInterface;
  readonly type: BeaconTypeName;
  readonly format: BeaconFormat;
  readonly payload: Record<string, unknown>;
  readonly dest: string;
  readonly port: number;
  readonly mcastIf: string | undefined;
  readonly ulid: string;
}

export class BeaconSender {
  #v4: dgram.Socket | undefined;
  #v6: dgram.Socket | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  readonly #port: number;
  readonly #clock: () => number;
  readonly #extra: Record<string, unknown>;
  #formats: readonly BeaconFormat[];
  readonly #sealer: BeaconSealer;
  sent = 0;
  failed = 0;

  constructor(
    private keys: FernetKeyObjects,
    opts: SenderOptions = {},
  ) {
    this.#port = opts.port ?? BEACON_PORT;
    this.#clock = opts.clock ?? Date.now;
    this.#extra = opts.extraPayload ?? {};
    this.#formats = opts.formats ?? ['v2'];
    this.#sealer = opts.sealer ?? new JsBeaconSealer();
  }

  /** The engine that seals v2 beacons ('native' or 'js'). */
  get sealEngine(): string {
    return this.#sealer.engine;
  }

  /** Signs what is sent from now on with these keys (a reload with a new current secret). */
  setKeys(keys: FernetKeyObjects): void {
    this.keys = keys;
  }

  /** Multicasts in these formats from now on (a reload). */
  setFormats(formats: readonly BeaconFormat[]): void {
    this.#formats = formats;
  }

  /** Bind both sockets. A family that cannot bind (no IPv6 here) is left out, not fatal. */
  async open(): Promise<void> {
    this.#v4 = await bindSocket('udp4', this.#port).catch(() => undefined);
    this.#v6 = await bindSocket('udp6', this.#port).catch(() => undefined);
    if (!this.#v4 && !this.#v6) throw new Error(`cannot bind UDP port ${this.#port} for IPv4 or IPv6`);
  }

  close(): void {
    this.#v4?.close();
    this.#v6?.close();
    this.#v4 = this.#v6 = undefined;
  }

  /** Multicast one beacon type on an interface, once per IPv4 address and once over IPv6. */
  multicast(iface: HostInterface, type: BeaconTypeName, extra: Record<string, unknown> = {}): Promise<{ sent: SentRecord[]; failed: SendFailure[] }> {
    return this.multicastAll([iface], type, extra);
  }

  /**
   * A multicast round: one beacon type on every interface given, in each
   * format, once per IPv4 address and once over IPv6 where the interface has
   * an IPv6 address. All are stamped with one reading of the clock and their
   * v2 beacons sealed in one batch; a send that fails is reported in
   * `failed` and the others still go.
   */
  async multicastAll(
    ifaces: Iterable<HostInterface>,
    type: BeaconTypeName,
    extra: Record<string, unknown> = {},
  ): Promise<{ sent: SentRecord[]; failed: SendFailure[] }> {
    const plan: Planned[] = [];
    const nowMs = this.#clock();
    const add = (iface: HostInterface, format: BeaconFormat, payload: Record<string, unknown>, dest: string, mcastIf: string | undefined) =>
      plan.push({ iface, type, format, payload, dest, port: this.#port, mcastIf, ulid: newUlid(nowMs) });
    for (const iface of ifaces)
      for (const format of this.#formats) {
        for (const a of ipv4Addresses(iface))
          add(iface, format, { ...this.#extra, ...extra, remote: describeInterface(iface, cidrOf(a)) }, MCAST_V4, a.address);
        if (!iface.addresses.some((a) => a.family === 6)) continue;
        const v6 = iface.addresses.find((a) => a.family === 6 && a.scope === 'global');
        add(iface, format, { ...this.#extra, ...extra, remote: describeInterface(iface, v6 ? cidrOf(v6) : null) }, `${MCAST_V6}%${iface.name}`, undefined);
      }
    return this.#sendAll(plan, nowMs);
  }

  /**
   * A unicast beacon (the answer to a solicitation) to `ip`:`port`, leaving
   * by `iface`'s route, in `format`: the solicitation's, so that a MAAS rack
   * is answered in v2 whatever this host multicasts.
   */
  async unicast(
    iface: HostInterface,
    type: BeaconTypeName,
    payload: Record<string, unknown>,
    ip: string,
    port: number,
    format: BeaconFormat = 'v2',
  ): Promise<{ sent: SentRecord[]; failed: SendFailure[] }> {
    // A link-local IPv6 peer is reachable only through the interface it was heard on.
    const dest = isIPv6(ip) && /^fe[89ab]/i.test(ip) && !ip.includes('%') ? `${ip}%${iface.name}` : ip;
    const nowMs = this.#clock();
    return this.#sendAll([{ iface, type, format, payload: { ...this.#extra, ...payload }, dest, port, mcastIf: undefined, ulid: newUlid(nowMs) }], nowMs);
  }

  /** Seal the plan (its v2 beacons in one batch), then send it in order, one beacon at a time. */
  #sendAll(plan: readonly Planned[], nowMs: number): Promise<{ sent: SentRecord[]; failed: SendFailure[] }> {
    const keys = this.keys;
    const v2 = plan.filter((p) => p.format === 'v2');
    const sealed = this.#sealer.sealV2(
      keys,
      v2.map((p) => ({ bson: beaconBson(p.type, p.payload, p.ulid), type: BEACON_TYPES[p.type], timeSeconds: nowMs / 1000 })),
    );
    const bytes = new Map<Planned, Buffer>(v2.map((p, i) => [p, sealed[i]!]));
    for (const p of plan) if (p.format !== 'v2') bytes.set(p, encodeBeacon(keys, p.type, p.payload, { nowMs, ulid: p.ulid, format: p.format }).bytes);
    const sent: SentRecord[] = [];
    const failed: SendFailure[] = [];
    const run = async () => {
      for (const p of plan) await this.#send(p, bytes.get(p)!, nowMs, sent, failed);
    };
    // Queued behind any round or reply still being sent: one beacon on a socket at a time.
    const done = this.#chain.then(run);
    this.#chain = done;
    return done.then(() => ({ sent, failed }));
  }

  async #send(p: Planned, bytes: Buffer, nowMs: number, sent: SentRecord[], failed: SendFailure[]): Promise<void> {
    const { iface, dest, port, type, ulid } = p;
    const sock = isIPv6(dest.split('%')[0]!) ? this.#v6 : this.#v4;
    try {
      if (!sock) throw new Error('no socket for this address family');
      if (p.mcastIf) sock.setMulticastInterface(p.mcastIf);
      await new Promise<void>((res, rej) => sock.send(bytes, port, dest, (err) => (err ? rej(err) : res())));
      this.sent++;
      sent.push({
        ulid,
        interface: iface.name,
        time: nowMs / 1000,
        destination_ip: dest.split('%')[0]!,
        destination_port: port,
        version: FORMAT_VERSION[p.format],
        type,
        payload: { ...p.payload, ulid, type: BEACON_TYPES[type] },
        ...(iface.vid !== undefined ? { vid: iface.vid } : {}),
      });
    } catch (err) {
      this.failed++;
      failed.push(sendFailure(iface.name, dest, err));
    }
  }
}

async function bindSocket(type: 'udp4' | 'udp6', port: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type, reuseAddr: true, ipv6Only: type === 'udp6' });
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(port, () => {
      sock.off('error', rej);
      res();
    });
  });
  // Beacons are link-local: never routed past the first hop.
  sock.setMulticastTTL(1);
  sock.setTTL(64);
  sock.setMulticastLoopback(false);
  // Unicast replies to this port arrive here; the capture reads them, so the
  // socket only has to exist (no ICMP port-unreachable). Drain and discard.
  sock.on('message', () => undefined);
  sock.on('error', () => undefined);
  return sock;
}
