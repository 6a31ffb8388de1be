/**
 * The native BatchVerifier: a thin wrapper over the addon's NativeVerifier
 * (native/verify_napi.cc), one boundary crossing per batch. The batch shape
 * is checked here with the same function as the JS engine, so both throw the
 * same errors for the same bad input; the addon checks again, because it
 * must never read out of bounds whatever it is handed.
 */
import { loadBinding } from './binding';
import { checkBatch } from './js-verifier';
import type { BatchVerifier, PayloadBatch, VerifiedBatch } from './types';
import type { FernetKey } from '../protocol/key';

/** What observeLines hands back (native/verify_napi.cc, native/observe_lines.h). */
export interface NativeLines {
  /** Frames taken, in order; fewer than the batch when `out` filled up. Only their entries below count. */
  readonly processed: number;
  /** Per frame: 0 a line, 1 not a beacon, 2 rejected (see reason), 3 declined (the JS path decides). */
  readonly kind: Uint8Array;
  readonly reason: Uint8Array;
  /** Frame i's line is out[lineEnds[i] .. lineEnds[i+1]). */
  readonly lineEnds: Uint32Array;
}

/** The addon's verifier class (see native/verify_napi.cc). */
interface NativeVerifierInstance {
  verify(data: Uint8Array, offsets: Uint32Array, now: Float64Array, count: number): VerifiedBatch;
  observeLines(frames: Uint8Array, offsets: Uint32Array, times: Float64Array, count: number, out: Uint8Array): NativeLines;
}
type NativeVerifierClass = new (signing: Uint8Array, encryption: Uint8Array, v3Key?: Uint8Array, v3KeyId?: Uint8Array) => NativeVerifierInstance;

/** The addon's verifier class, or an Error saying why it is not available. */
export function nativeVerifierClass(): NativeVerifierClass | Error {
  const state = loadBinding();
  if (!state.ok) return new Error(`the native engine is not available (${state.why}): ${state.detail}`);
  const cls = state.binding.NativeVerifier;
  if (typeof cls !== 'function') return new Error(`${state.path} has no NativeVerifier export: rebuild with \`npm run build:native\``);
  return cls as NativeVerifierClass;
}

export class NativeBatchVerifier implements BatchVerifier {
  private readonly native: NativeVerifierInstance;

  constructor(key: FernetKey) {
    for (const half of ['signing', 'encryption'] as const) {
      const k: unknown = key[half];
      if (!(k instanceof Uint8Array)) throw new TypeError(`the ${half} key must be a Uint8Array`);
      if (k.length !== 16) throw new RangeError(`the ${half} key must be 16 bytes, got ${k.length}`);
    }
    const cls = nativeVerifierClass();
    if (cls instanceof Error) throw cls;
    // With a v3 key the addon accepts version 3 too; without, exactly as before.
    this.native = key.v3 ? new cls(key.signing, key.encryption, key.v3.key, key.v3.id) : new cls(key.signing, key.encryption);
  }

  verify(batch: PayloadBatch): VerifiedBatch {
    checkBatch(batch);
    return this.native.verify(batch.data, batch.offsets, batch.now, batch.count);
  }

  /** observe's lines, written into `out`, for whole Ethernet frames (batch.data), each captured at batch.now[i]: see src/engine/line-encoder.ts. */
  observeLines(batch: PayloadBatch, out: Uint8Array): NativeLines {
    checkBatch(batch);
    return this.native.observeLines(batch.data, batch.offsets, batch.now, batch.count, out);
  }
}
