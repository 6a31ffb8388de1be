/**
 * Secret rotation: several keys active at once. The current key signs
 * everything this host sends; previous keys are still accepted on receipt
 * until the end of their transition window, so that racks which have not
 * yet been given the new secret keep being heard while the change rolls
 * out. Past `acceptUntil` a previous key is simply not offered any more: a
 * secret that leaked is then useless to whoever holds it.
 *
 * Pure: the time is a parameter (seconds since the epoch, as Fernet
 * timestamps are), keys arrive derived. Which file each key came from, and
 * deriving it, is the driver's business.
 */
import type { FernetKey } from './key';
import { keyFingerprint } from './key';

export type KeyRole = 'current' | 'previous';

export interface KeyringEntry {
  /** keyFingerprint(key): what logs, metrics and `status` show instead of the key. */
  readonly fingerprint: string;
  readonly key: FernetKey;
  readonly role: KeyRole;
  /**
   * Previous keys only, and required for them: accepted while
   * now < acceptUntil (seconds since the epoch). A transition window
   * without an end would be a second secret forever.
   */
  readonly acceptUntil?: number;
}

/** One key as `status` shows it. */
export interface KeyState {
  readonly fingerprint: string;
  readonly role: KeyRole;
  readonly acceptUntil?: number;
  /** Whether beacons authenticated by this key are accepted at the time asked about. */
  readonly accepting: boolean;
}

/** An entry for `key`, fingerprinted here so that the two cannot disagree. */
export function keyringEntry(key: FernetKey, role: KeyRole, acceptUntil?: number): KeyringEntry {
  const fingerprint = keyFingerprint(key);
  return acceptUntil === undefined ? { fingerprint, key, role } : { fingerprint, key, role, acceptUntil };
}

export class Keyring {
  readonly #current: KeyringEntry;
  // Most recently retired first: the key that peers which missed the
  // rotation are most likely still using, so tried first.
  readonly #previous: readonly KeyringEntry[];

  /**
   * Throws RangeError on a keyring that cannot be meant: not exactly one
   * current key, a previous key without a window end, a current key with
   * one, a fingerprint that is not the key's, or one key listed twice. The
   * config loader turns its own, earlier checks into usage errors; these
   * guard the invariants the verifier relies on.
   */
  constructor(entries: readonly KeyringEntry[]) {
    const current = entries.filter((e) => e.role === 'current');
    if (current.length !== 1) throw new RangeError(`a keyring needs exactly one current key, got ${current.length}`);
    const seen = new Set<string>();
    const ids = new Set<string>();
    for (const e of entries) {
      // A v3 key id names one key: two keys with one id would make the receiver guess.
      if (e.key.v3 && ids.has(e.key.v3.idHex)) throw new RangeError(`v3 key id ${e.key.v3.idHex} is shared by two keys of the keyring`);
      if (e.key.v3) ids.add(e.key.v3.idHex);
      if (keyFingerprint(e.key) !== e.fingerprint) throw new RangeError(`fingerprint ${e.fingerprint} is not that of its key`);
      if (seen.has(e.fingerprint)) throw new RangeError(`key ${e.fingerprint} is listed twice`);
      seen.add(e.fingerprint);
      if (e.role === 'current' && e.acceptUntil !== undefined) throw new RangeError(`the current key ${e.fingerprint} cannot have an end of acceptance`);
      if (e.role === 'previous' && !Number.isFinite(e.acceptUntil)) throw new RangeError(`previous key ${e.fingerprint} needs a finite acceptUntil`);
    }
    this.#current = current[0]!;
    this.#previous = entries.filter((e) => e.role === 'previous').sort((a, b) => b.acceptUntil! - a.acceptUntil! || (a.fingerprint < b.fingerprint ? -1 : 1));
  }

  /** The key everything sent is signed with, whatever the time. */
  signingKey(): KeyringEntry {
    return this.#current;
  }

  /** The keys a beacon received at `now` may be authenticated by: the current one first. */
  acceptedKeys(now: number): KeyringEntry[] {
    return [this.#current, ...this.#previous.filter((e) => accepts(e, now))];
  }

  /** Previous keys in the order they are tried, whether or not still in their window. */
  previousKeys(): readonly KeyringEntry[] {
    return this.#previous;
  }

  /** Every key with whether it is accepted at `now`, for `status` and the log at rotation. */
  states(now: number): KeyState[] {
    return [this.#current, ...this.#previous].map((e) => {
      const state = { fingerprint: e.fingerprint, role: e.role, accepting: accepts(e, now) };
      return e.acceptUntil === undefined ? state : { ...state, acceptUntil: e.acceptUntil };
    });
  }

  /**
   * The next time (seconds) a previous key stops being accepted, after
   * `now`: when the driver should log the end of a window. Undefined when
   * no window is still open.
   */
  nextExpiry(now: number): number | undefined {
    const open = this.#previous.filter((e) => accepts(e, now)).map((e) => e.acceptUntil!);
    return open.length === 0 ? undefined : Math.min(...open);
  }
}

/** Whether `e` authenticates beacons at `now`; the window's end itself is outside it. */
export function accepts(e: KeyringEntry, now: number): boolean {
  return e.role === 'current' || now < e.acceptUntil!;
}
