/**
 * The native BeaconSealer: the addon's NativeSealer (native/seal_napi.cc),
 * one per key, and one boundary crossing per batch: the documents go in as
 * one buffer with offsets, the datagrams come back as one buffer with
 * offsets, and each datagram handed out is a view into it.
 *
 * IVs: a batch whose items carry none (the send path) has them drawn by the
 * addon, with OpenSSL's RAND_bytes, one call for the batch: the same CSPRNG
 * as Node's randomBytes, without a second buffer crossing the boundary. A
 * batch where some items carry one (vectors, tests) passes them all, the
 * missing ones drawn here from the pool the JS engine draws from.
 */
import type { SealItem } from '../protocol/beacon';
import type { FernetKeyObjects } from '../protocol/fernet';
import { randomBytesPooled } from '../protocol/random';
import { loadBinding } from './binding';
import { checkSealItems } from './js-sealer';
import type { BeaconSealer } from './types';

interface NativeSealerInstance {
  seal(
    data: Uint8Array,
    offsets: Uint32Array,
    types: Uint8Array,
    times: Float64Array,
    ivs: Uint8Array | undefined,
    count: number,
  ): { data: Buffer; offsets: Uint32Array };
}
type NativeSealerClass = new (signing: Uint8Array, encryption: Uint8Array) => NativeSealerInstance;

/** The addon's sealer class, or an Error saying why it is not available. */
export function nativeSealerClass(): NativeSealerClass | Error {
  const state = loadBinding();
  if (!state.ok) return new Error(`the native engine is not available (${state.why}): ${state.detail}`);
  const cls = state.binding.NativeSealer;
  if (typeof cls !== 'function') return new Error(`${state.path} has no NativeSealer export: rebuild with \`npm run build:native\``);
  return cls as NativeSealerClass;
}

export class NativeBeaconSealer implements BeaconSealer {
  readonly engine = 'native';
  readonly #cls: NativeSealerClass;
  // One addon sealer per key: a reload with a new secret brings new key objects.
  readonly #byKey = new WeakMap<FernetKeyObjects, NativeSealerInstance>();

  constructor() {
    const cls = nativeSealerClass();
    if (cls instanceof Error) throw cls;
    this.#cls = cls;
  }

  sealV2(keys: FernetKeyObjects, items: readonly SealItem[]): Buffer[] {
    checkSealItems(items);
    const count = items.length;
    let total = 0;
    for (const item of items) total += item.bson.length;
    const data = Buffer.allocUnsafe(total);
    const offsets = new Uint32Array(count + 1);
    const types = new Uint8Array(count);
    const times = new Float64Array(count);
    const withIv = items.filter((item) => item.iv !== undefined).length;
    const ivs = withIv === 0 ? undefined : Buffer.allocUnsafe(16 * count);
    items.forEach((item, i) => {
      data.set(item.bson, offsets[i]);
      offsets[i + 1] = offsets[i]! + item.bson.length;
      types[i] = item.type;
      times[i] = item.timeSeconds;
      ivs?.set(item.iv ?? randomBytesPooled(16), 16 * i);
    });
    const r = this.#sealer(keys).seal(data, offsets, types, times, ivs, count);
    return items.map((_, i) => r.data.subarray(r.offsets[i], r.offsets[i + 1]));
  }

  #sealer(keys: FernetKeyObjects): NativeSealerInstance {
    let s = this.#byKey.get(keys);
    if (!s) {
      s = new this.#cls(keys.signing.export(), keys.encryption.export());
      this.#byKey.set(keys, s);
    }
    return s;
  }
}
