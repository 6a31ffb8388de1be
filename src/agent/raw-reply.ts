/**
 * The driver for raw replies (answers.ts decides them): encode the
 * advertisement (padded when asked), wrap it in Ethernet / tags / IPv4 with
 * DF / UDP, and send the frame through the addon. Returns what it sent in
 * the sender's shape, so the daemon journals and correlates raw replies as
 * it does the others.
 */
import { encodeBeacon } from '../protocol/beacon';
import type { FernetKeyObjects } from '../protocol/fernet';
import { IPV4_UDP_OVERHEAD } from '../protocol/extensions';
import { BEACON_PORT, sendFailure, type SendFailure, type SentRecord } from './sender';
import type { RawReplyAction } from '../policy/answers';
import { buildUdp4Frame } from '../protocol/frame-build';
import { encodePadded } from '../protocol/padding';
import { openRawSender, type RawSender } from '../capture/raw-send';

export interface RawReplierOptions {
  /** Keys every payload carries (role, maas_url), as BeaconSender's extraPayload. */
  readonly extraPayload?: Record<string, unknown>;
  readonly clock?: () => number;
  /** The raw sender (tests inject one); the addon's, opened on first use, otherwise. */
  readonly sender?: RawSender;
}

/** Unicast replies may cross a router back to a routed prober, as MAAS's dgram replies (TTL 64) can. */
const REPLY_TTL = 64;

export class RawReplier {
  #keys: FernetKeyObjects;
  readonly #extra: Record<string, unknown>;
  readonly #clock: () => number;
  #sender: RawSender | undefined;

  constructor(keys: FernetKeyObjects, opts: RawReplierOptions = {}) {
    this.#keys = keys;
    this.#extra = opts.extraPayload ?? {};
    this.#clock = opts.clock ?? Date.now;
    this.#sender = opts.sender;
  }

  /** Signs what is sent from now on with these keys (a reload). */
  setKeys(keys: FernetKeyObjects): void {
    this.#keys = keys;
  }

  send(a: RawReplyAction): { sent: SentRecord[]; failed: SendFailure[] } {
    return this.sendAll([a]);
  }

  /**
   * Sends replies with one raw send per interface. The batching matters:
   * each call of the addon's sender opens and closes an AF_PACKET socket,
   * and closing one waits for an RCU grace period (~10 ms here), so a reply
   * per call would cap the agent near 100 replies a second and stall its
   * event loop meanwhile.
   */
  sendAll(actions: readonly RawReplyAction[]): { sent: SentRecord[]; failed: SendFailure[] } {
    const sent: SentRecord[] = [];
    const failed: SendFailure[] = [];
    // Unpadded replies share one call per interface; a padded one (a reverse
    // MTU probe) goes alone, since it may be too big for the link by
    // design, and a frame that fails stops the frames behind it in a batch.
    const batches = new Map<string, Array<{ frame: Buffer; rec: SentRecord; a: RawReplyAction }>>();
    let alone = 0;
    for (const a of actions) {
      try {
        const built = this.#build(a);
        const key = a.pad_to === undefined ? a.interface : `${a.interface}\u0000${alone++}`;
        const list = batches.get(key) ?? [];
        list.push({ ...built, a });
        batches.set(key, list);
      } catch (err) {
        failed.push(failure(a, err));
      }
    }
    for (const list of batches.values()) {
      const ifname = list[0]!.a.interface;
      try {
        this.#sender ??= openRawSender();
        this.#sender.sendBatch(
          ifname,
          list.map((x) => x.frame),
        );
        sent.push(...list.map((x) => x.rec));
      } catch (err) {
        // Frames before the failing one went (RawSendError says how many).
        const went = typeof (err as { sent?: unknown }).sent === 'number' ? (err as { sent: number }).sent : 0;
        sent.push(...list.slice(0, went).map((x) => x.rec));
        for (const x of list.slice(went)) failed.push(failure(x.a, err));
      }
    }
    return { sent, failed };
  }

  #build(a: RawReplyAction): { frame: Buffer; rec: SentRecord } {
    const nowMs = this.#clock();
    const payload = { ...this.#extra, ...a.payload };
    let bytes: Buffer;
    let ulid: string;
    const datagram = a.pad_to === undefined ? undefined : a.pad_to - IPV4_UDP_OVERHEAD;
    const plain = encodeBeacon(this.#keys, 'advertisement', payload, { nowMs });
    if (datagram !== undefined && datagram > plain.bytes.length) {
      ({ bytes, ulid } = encodePadded(this.#keys, 'advertisement', payload, datagram, { nowMs, ulid: plain.ulid }));
    } else {
      ({ bytes, ulid } = plain);
    }
    const frame = buildUdp4Frame({
      destinationMac: a.destination_mac,
      sourceMac: a.source_mac,
      tags: a.tags,
      sourceIp: a.source_ip,
      destinationIp: a.destination_ip,
      sourcePort: BEACON_PORT,
      destinationPort: a.destination_port,
      ttl: REPLY_TTL,
      dontFragment: true,
      payload: bytes,
    });
    const rec: SentRecord = {
      ulid,
      interface: a.interface,
      time: nowMs / 1000,
      destination_ip: a.destination_ip,
      destination_port: a.destination_port,
      version: 2,
      type: 'advertisement',
      // Without the pad: the journal records what was said, not the filler.
      payload: { ...payload, ulid, type: 2 },
      ...(a.vid !== undefined ? { vid: a.vid } : {}),
    };
    return { frame, rec };
  }
}

function failure(a: RawReplyAction, err: unknown): SendFailure {
  return sendFailure(a.interface, `${a.destination_ip} via ${a.destination_mac}`, err);
}
