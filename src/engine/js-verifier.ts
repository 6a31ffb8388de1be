/**
 * The pure-JS batch verifier: the fallback engine, and the reference the
 * native engine is tested against (test/unit/engine-agreement.test.ts).
 */
import { checkTokenClear, FernetOpener, keyObjects } from '../protocol/fernet';
import { gunzipLikePython } from '../protocol/gzip';
import { HEADER_LENGTH } from '../protocol/header';
import { MAX_INFLATED, REASON_CODE, type RejectReason } from '../protocol/reasons';
import type { BatchVerifier, PayloadBatch, VerifiedBatch } from './types';
import type { FernetKey, V3Key } from '../protocol/key';
import { openV3, V3_VERSION } from '../protocol/v3';

const EMPTY = new Uint8Array(0);

export class JsBatchVerifier implements BatchVerifier {
  private readonly opener: FernetOpener;
  /** Present when the key has a v3 key: v3 beacons are then accepted, else they are an unknown version. */
  private readonly v3: V3Key | undefined;

  constructor(key: FernetKey) {
    this.opener = new FernetOpener(keyObjects(key));
    this.v3 = key.v3;
  }

  verify(batch: PayloadBatch): VerifiedBatch {
    const { count, data, offsets, now } = batch;
    checkBatch(batch);
    const status = new Uint8Array(count);
    const version = new Uint8Array(count);
    const headerType = new Uint8Array(count);
    const plainOffsets = new Uint32Array(count + 1);
    const plains: Uint8Array[] = new Array<Uint8Array>(count);
    let plainLength = 0;
    for (let i = 0; i < count; i++) {
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      let plain: Uint8Array = EMPTY;
      if (end - start >= HEADER_LENGTH) {
        version[i] = data[start]!;
        headerType[i] = data[start + 1]!;
      }
      const r = this.verifyOne(data, start, end, Math.floor(now[i]!));
      if (typeof r === 'string') status[i] = REASON_CODE[r];
      else plain = r;
      plains[i] = plain;
      plainOffsets[i] = plainLength;
      plainLength += plain.length;
    }
    plainOffsets[count] = plainLength;
    const plain = new Uint8Array(plainLength);
    for (let i = 0; i < count; i++) plain.set(plains[i]!, plainOffsets[i]);
    return { count, status, version, headerType, plain, plainOffsets };
  }

  private verifyOne(b: Uint8Array, start: number, end: number, nowSeconds: number): Uint8Array | RejectReason {
    if (end - start < HEADER_LENGTH) return 'short';
    const declared = (b[start + 2]! << 8) | b[start + 3]!;
    const tokenStart = start + HEADER_LENGTH;
    if (tokenStart + declared > end) return 'length';
    const v = b[start]!;
    if (v === V3_VERSION && this.v3) return openV3(this.v3, b, start, nowSeconds);
    if (v !== 1 && v !== 2) return 'version';
    if (declared === 0) return EMPTY;
    const tokenEnd = tokenStart + declared;
    const clear = checkTokenClear(b, tokenStart, tokenEnd, nowSeconds);
    if (clear) return clear;
    const plain = this.opener.verifyDecrypt(b, tokenStart, tokenEnd);
    if (typeof plain === 'string') return plain;
    const bson = gunzipLikePython(plain, MAX_INFLATED);
    // Zero bytes cannot be a BSON document; reporting it here keeps "ok with
    // no plaintext" meaning exactly "the header declared no payload".
    return typeof bson !== 'string' && bson.length === 0 ? 'bson' : bson;
  }
}

/** The batch shape is ours to check before any engine reads it. */
export function checkBatch(batch: PayloadBatch): void {
  const { count, data, offsets, now } = batch;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`batch count must be a non-negative integer, got ${count}`);
  if (offsets.length < count + 1) throw new RangeError(`batch offsets hold ${offsets.length} entries, need ${count + 1}`);
  if (now.length < count) throw new RangeError(`batch clock holds ${now.length} entries, need ${count}`);
  for (let i = 0; i < count; i++) {
    if (offsets[i]! > offsets[i + 1]!) throw new RangeError(`batch offsets decrease at item ${i}`);
    // NaN would make every age check false and so accept any token.
    if (!Number.isFinite(now[i]!)) throw new RangeError(`batch clock is not a finite number at item ${i}`);
  }
  if (count > 0 && offsets[count]! > data.length) throw new RangeError(`batch offsets run past the data (${offsets[count]} > ${data.length})`);
}
