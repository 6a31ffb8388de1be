/**
 * Limits on unicast replies to solicitations. Each reply goes to the
 * solicitation's source address, which the sender chose: without a limit,
 * anyone holding one captured solicitation (replayable for two minutes,
 * under any VLAN tag) can aim this host's replies at a third party. Token
 * buckets bound it per peer and in total. The multicast advertisement that
 * follows a solicitation is paced separately (at most once per 5 s) by the
 * agent's scheduler and is not limited here.
 *
 * Defaults, and why:
 * - Per peer (source MAC + source IP): 1 reply/s, burst 5. A MAAS rack
 *   solicits every 30 s plus a retry 3 s later, so an honest peer needs
 *   about 2 replies per 30 s per segment it is heard on; the burst of 5
 *   answers one solicitation heard on up to 5 of our segments at once (one
 *   fabric reached through several interfaces or VLANs), and 1/s refills
 *   that well before the retry. Sustained, that is 15x what MAAS needs.
 * - In total: 50 replies/s, burst 100. A hundred racks soliciting at the
 *   same moment (after a region restart) are all answered at once, and 50
 *   small datagrams a second is nothing to send, yet bounds what this host
 *   can be made to reflect to a few tens of kB/s.
 * - 4096 peers tracked. A peer whose bucket has refilled is in the same
 *   state as one never seen, so forgetting it costs nothing; only peers
 *   forgotten with a partly empty bucket get a fresh burst, and those are
 *   counted (`evictedActive`). The total bucket still bounds them.
 *
 * Pure: the time comes in as ms; tests drive a fake clock.
 */

export interface BucketConfig {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Most tokens held, and the size of the bucket when first seen. */
  readonly burst: number;
}

export interface ReplyLimitOptions {
  readonly perPeer?: BucketConfig;
  readonly total?: BucketConfig;
  /** Bound of the per-peer table. */
  readonly maxPeers?: number;
}

export const DEFAULT_PER_PEER: BucketConfig = Object.freeze({ ratePerSecond: 1, burst: 5 });
export const DEFAULT_TOTAL: BucketConfig = Object.freeze({ ratePerSecond: 50, burst: 100 });
export const DEFAULT_MAX_PEERS = 4096;

export type HoldReason = 'peer-limit' | 'total-limit';
export type ReplyDecision = { readonly kind: 'send' } | { readonly kind: 'hold'; readonly reason: HoldReason };

/** Who a reply would go to: the solicitation's source. */
export interface ReplyPeer {
  readonly mac: string;
  readonly ip: string;
}

export interface ReplyLimitStats {
  readonly sent: number;
  readonly held: Readonly<Record<HoldReason, number>>;
  readonly peers: number;
  /** Peers forgotten because the table was full. */
  readonly evicted: number;
  /** Of those, the ones whose bucket was not yet full: they got a fresh burst. */
  readonly evictedActive: number;
}

const SEND: ReplyDecision = Object.freeze({ kind: 'send' });
const HOLD_PEER: ReplyDecision = Object.freeze({ kind: 'hold', reason: 'peer-limit' });
const HOLD_TOTAL: ReplyDecision = Object.freeze({ kind: 'hold', reason: 'total-limit' });

export function checkBucketConfig(c: BucketConfig, what: string): void {
  if (!(c.ratePerSecond > 0) || !Number.isFinite(c.ratePerSecond)) throw new RangeError(`${what} rate must be a finite number > 0, got ${c.ratePerSecond}`);
  if (!(c.burst >= 1) || !Number.isFinite(c.burst)) throw new RangeError(`${what} burst must be a finite number >= 1, got ${c.burst}`);
}

/** A token bucket on the caller's clock. Starts full. */
export class TokenBucket {
  readonly #rate: number; // tokens per ms
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(config: BucketConfig, nowMs: number) {
    checkBucketConfig(config, 'bucket');
    this.#rate = config.ratePerSecond / 1000;
    this.#burst = config.burst;
    this.#tokens = config.burst;
    this.#at = nowMs;
  }

  /** Tokens available at `nowMs` (fractional). */
  tokens(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens;
  }

  /** Whether a whole token is available at `nowMs`, without taking it. */
  canTake(nowMs: number): boolean {
    return this.tokens(nowMs) >= 1;
  }

  /** Takes a token if one is available. */
  tryTake(nowMs: number): boolean {
    if (!this.canTake(nowMs)) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Full again: indistinguishable from a bucket never used. */
  isFull(nowMs: number): boolean {
    return this.tokens(nowMs) >= this.#burst;
  }

  #refill(nowMs: number): void {
    // A clock that steps back adds nothing and does not move the stamp back,
    // so stepping back and forth cannot mint tokens.
    if (nowMs <= this.#at) return;
    this.#tokens = Math.min(this.#burst, this.#tokens + (nowMs - this.#at) * this.#rate);
    this.#at = nowMs;
  }
}

export class ReplyLimiter {
  readonly #perPeer: BucketConfig;
  readonly #total: TokenBucket;
  readonly #maxPeers: number;
  // Map order is recency of use: a peer is re-inserted when used, so the
  // first key is the least recently used.
  readonly #peers = new Map<string, TokenBucket>();
  #sent = 0;
  readonly #held: Record<HoldReason, number> = { 'peer-limit': 0, 'total-limit': 0 };
  #evicted = 0;
  #evictedActive = 0;

  constructor(opts: ReplyLimitOptions = {}, nowMs = 0) {
    this.#perPeer = opts.perPeer ?? DEFAULT_PER_PEER;
    checkBucketConfig(this.#perPeer, 'per-peer');
    const maxPeers = opts.maxPeers ?? DEFAULT_MAX_PEERS;
    if (!Number.isInteger(maxPeers) || maxPeers < 1) throw new RangeError(`the peer table bound must be a positive integer, got ${maxPeers}`);
    this.#maxPeers = maxPeers;
    this.#total = new TokenBucket(opts.total ?? DEFAULT_TOTAL, nowMs);
  }

  /**
   * Whether to send the reply to `peer` now. A reply held back takes no
   * token from either bucket: a peer refused by the total limit keeps its
   * own allowance, and one over its own limit does not eat into everyone's.
   */
  decide(peer: ReplyPeer, nowMs: number): ReplyDecision {
    const bucket = this.#bucketFor(peer, nowMs);
    if (!bucket.canTake(nowMs)) {
      this.#held['peer-limit']++;
      return HOLD_PEER;
    }
    if (!this.#total.canTake(nowMs)) {
      this.#held['total-limit']++;
      return HOLD_TOTAL;
    }
    bucket.tryTake(nowMs);
    this.#total.tryTake(nowMs);
    this.#sent++;
    return SEND;
  }

  stats(): ReplyLimitStats {
    return { sent: this.#sent, held: { ...this.#held }, peers: this.#peers.size, evicted: this.#evicted, evictedActive: this.#evictedActive };
  }

  #bucketFor(peer: ReplyPeer, nowMs: number): TokenBucket {
    // MACs are compared case-insensitively; the NUL cannot occur in either field.
    const key = `${peer.mac.toLowerCase()}\u0000${peer.ip}`;
    let bucket = this.#peers.get(key);
    if (bucket) {
      this.#peers.delete(key);
    } else {
      bucket = new TokenBucket(this.#perPeer, nowMs);
      if (this.#peers.size >= this.#maxPeers) this.#evictIdlest(nowMs);
    }
    this.#peers.set(key, bucket);
    return bucket;
  }

  #evictIdlest(nowMs: number): void {
    const [key, bucket] = this.#peers.entries().next().value!;
    this.#peers.delete(key);
    this.#evicted++;
    if (!bucket.isFull(nowMs)) this.#evictedActive++;
  }
}
