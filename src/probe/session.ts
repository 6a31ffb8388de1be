/**
 * The I/O that discover, mtu and vlans share: the key, a live capture on
 * the chosen interfaces, a UDP socket on port 5240 (it sends discover's
 * solicitations, and its mere existence keeps the kernel from answering
 * unicast replies with ICMP port-unreachable), the raw sender when a
 * command needs one, and waiting for the advertisement that acks a ULID.
 * Everything opened here is closed by close(), which the commands call in
 * `finally`.
 */
import type { LiveCapture, LiveRecord } from '../capture/live';
import { openLiveCapture } from '../capture/live-open';
import { openRawSender, type RawSender } from '../capture/raw-send';
import { BeaconSender } from '../agent/sender';
import { chooseEngine, engineRequest, type EngineChoice } from '../engine/select';
import { createVerifier } from '../engine/verifier';
import { NetbeaconError, UsageError } from '../errors';
import { readInterfaces } from '../net/discover';
import { globToRegExp, selectInterfaces, type HostInterface } from '../topology/interfaces';
import { readAcks } from '../protocol/extensions';
import { loadKey, type KeyMaterial } from '../secret/load-key';

export interface SessionOptions {
  readonly interfaces: readonly HostInterface[];
  readonly secretFile?: string;
  readonly engine?: string;
  /** Open the raw sender too (mtu, vlans). */
  readonly raw?: boolean;
}

type Listener = (r: LiveRecord) => void;

export class ProbeSession {
  readonly key: KeyMaterial;
  readonly choice: EngineChoice;
  readonly capture: LiveCapture;
  readonly sender: BeaconSender;
  readonly raw: RawSender | undefined;
  readonly interfaces: readonly HostInterface[];
  readonly #listeners = new Set<Listener>();
  #closed = false;

  private constructor(opts: SessionOptions, key: KeyMaterial, choice: EngineChoice, raw: RawSender | undefined) {
    this.interfaces = opts.interfaces;
    this.key = key;
    this.choice = choice;
    this.raw = raw;
    this.capture = openLiveCapture({ engine: choice.engine, key: key.key, verifier: createVerifier('js', key.key) });
    this.sender = new BeaconSender(key.objects);
    this.capture.on('beacons', (records: LiveRecord[]) => {
      for (const r of records) for (const l of this.#listeners) l(r);
    });
    this.capture.on('error', (err: Error) => process.stderr.write(`netbeacon: warning: capture: ${err.message}\n`));
  }

  static async open(opts: SessionOptions): Promise<ProbeSession> {
    // The raw sender first: without it mtu and vlans cannot work, and
    // saying so should not wait for a key derivation.
    const raw = opts.raw ? openRawSender() : undefined;
    const choice = chooseEngine(engineRequest(opts.engine), { capture: true });
    const key = loadKey(opts.secretFile);
    const s = new ProbeSession(opts, key, choice, raw);
    try {
      for (const i of opts.interfaces) {
        try {
          await s.capture.add(i.name);
        } catch (err) {
          throw new NetbeaconError(
            'E_CAPTURE_LIVE',
            `cannot capture on ${i.name} (${s.capture.engine} engine): ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      await s.sender.open();
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  /** Calls `fn` for every record captured from now on; returns the unsubscribe. */
  onRecord(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * The first authentic advertisement acking `ulid` (or any of several, for
   * a probe sent more than once) and passing `accept`, or undefined after
   * `timeoutMs`.
   */
  waitForAck(ulid: string | Iterable<string>, timeoutMs: number, accept: (r: LiveRecord) => boolean = () => true): Promise<LiveRecord | undefined> {
    const want = new Set((typeof ulid === 'string' ? [ulid] : [...ulid]).map((u) => u.toUpperCase()));
    return new Promise((resolve) => {
      const stop = this.onRecord((r) => {
        if (!r.verdict.ok || r.verdict.type !== 'advertisement') return;
        const acks = readAcks(r.verdict.payload)?.toUpperCase();
        if (acks === undefined || !want.has(acks) || !accept(r)) return;
        clearTimeout(timer);
        stop();
        resolve(r);
      });
      const timer = setTimeout(() => {
        stop();
        resolve(undefined);
      }, timeoutMs);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.sender.close();
    await this.capture.close();
  }
}

/**
 * The interfaces named by `patterns` (names or globs) among those that can
 * beacon (up, not loopback, with a MAC); all of those when none is given.
 * A pattern that matches nothing is an error naming it and what there is.
 */
export async function resolveInterfaces(patterns: readonly string[], read: () => Promise<HostInterface[]> = readInterfaces): Promise<HostInterface[]> {
  const eligible = selectInterfaces(await read(), { include: [], exclude: [] });
  const list = eligible.map((i) => i.name).join(', ') || 'none';
  for (const p of patterns) {
    if (!eligible.some((i) => globToRegExp(p).test(i.name))) {
      throw new UsageError('E_INTERFACE', `no interface matches "${p}" (looked among interfaces that are up, not loopback, with a MAC: ${list})`);
    }
  }
  const chosen = selectInterfaces(eligible, { include: patterns, exclude: [] });
  if (chosen.length === 0) throw new UsageError('E_INTERFACE', 'no interface to probe: none is up, not loopback, with a MAC');
  return chosen;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
