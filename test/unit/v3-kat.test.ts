/**
 * Known answers for the v3 primitives, from libsodium's own published
 * vectors: HChaCha20 (libsodium test/default/xchacha20.c, tv_hchacha20) and
 * XChaCha20-Poly1305-IETF (draft-irtf-cfrg-xchacha A.3.1, the message and
 * AD libsodium's test/default/aead_xchacha20poly1305.c uses). Checked on
 * the native code (native/xchacha.cc: HChaCha20 is ours, OpenSSL does the
 * rest) and on libsodium-wrappers (the JS engine's).
 */
import t from 'tap';
import { loadBinding } from '../../src/engine/binding';
import { sodium, sodiumReady } from '../../src/protocol/sodium';

const HCHACHA20: ReadonlyArray<readonly [key: string, input: string, out: string]> = [
  [
    '24f11cce8a1b3d61e441561a696c1c1b7e173d084fd4812425435a8896a013dc',
    'd9660c5900ae19ddad28d6e06e45fe5e',
    '5966b3eec3bff1189f831f06afe4d4e3be97fa9235ec8c20d08acfbbb4e851e3',
  ],
  [
    '80a5f6272031e18bb9bcd84f3385da65e7731b7039f13f5e3d475364cd4d42f7',
    'c0eccc384b44c88e92c57eb2d5ca4dfa',
    '6ed11741f724009a640a44fce7320954c46e18e0d7ae063bdbc8d7cf372709df',
  ],
  [
    'cb1fc686c0eec11a89438b6f4013bf110e7171dace3297f3a657a309b3199629',
    'fcd49b93e5f8f299227e64d40dc864a3',
    '84b7e96937a1a0a406bb7162eeaad34308d49de60fd2f7ec9dc6a79cbab2ca34',
  ],
  [
    '6640f4d80af5496ca1bc2cfff1fefbe99638dbceaabd7d0ade118999d45f053d',
    '31f59ceeeafdbfe8cae7914caeba90d6',
    '9af4697d2f5574a44834a2c2ae1a0505af9f5d869dbe381a994a18eb374c36a0',
  ],
  [
    '0693ff36d971225a44ac92c092c60b399e672e4cc5aafd5e31426f123787ac27',
    '3a6293da061da405db45be1731d5fc4d',
    'f87b38609142c01095bfc425573bb3c698f9ae866b7e4216840b9c4caf3b0865',
  ],
  [
    '809539bd2639a23bf83578700f055f313561c7785a4a19fc9114086915eee551',
    '780c65d6a3318e479c02141d3f0b3918',
    '902ea8ce4680c09395ce71874d242f84274243a156938aaa2dd37ac5be382b42',
  ],
  [
    '1a170ddf25a4fd69b648926e6d794e73408805835c64b2c70efddd8cd1c56ce0',
    '05dbee10de87eb0c5acb2b66ebbe67d3',
    'a4e20b634c77d7db908d387b48ec2b370059db916e8ea7716dc07238532d5981',
  ],
  [
    '3b354e4bb69b5b4a1126f509e84cad49f18c9f5f29f0be0c821316a6986e15a6',
    'd8a89af02f4b8b2901d8321796388b6c',
    '9816cb1a5b61993735a4b161b51ed2265b696e7ded5309c229a5a99f53534fbc',
  ],
  [
    '4b9a818892e15a530db50dd2832e95ee192e5ed6afffb408bd624a0c4e12a081',
    'a9079c551de70501be0286d1bc78b045',
    'ebc5224cf41ea97473683b6c2f38a084bf6e1feaaeff62676db59d5b719d999b',
  ],
  [
    'c49758f00003714c38f1d4972bde57ee8271f543b91e07ebce56b554eb7fa6a7',
    '31f0204e10cf4f2035f9e62bb5ba7303',
    '0dd8cc400f702d2c06ed920be52048a287076b86480ae273c6d568a2e9e7518c',
  ],
];

const AEAD = {
  key: Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i),
  nonce: Uint8Array.from({ length: 24 }, (_, i) => 0x40 + i),
  ad: Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex'),
  message: Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
  sealed:
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
    '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
    'c0875924c1c7987947deafd8780acf49',
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Buffer.from(h, 'hex');

interface NativeXChaCha {
  hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array;
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plain: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array, evp?: boolean): Uint8Array | null;
  direct(): boolean;
}

t.test('libsodium-wrappers (the JS engine)', async (t) => {
  await sodiumReady();
  const na = sodium();
  t.equal(hex(na.crypto_aead_xchacha20poly1305_ietf_encrypt(AEAD.message, AEAD.ad, null, AEAD.nonce, AEAD.key)), AEAD.sealed, 'draft A.3.1 seal');
  t.equal(
    Buffer.from(na.crypto_aead_xchacha20poly1305_ietf_decrypt(null, bytes(AEAD.sealed), AEAD.ad, AEAD.nonce, AEAD.key)).toString(),
    AEAD.message.toString(),
  );
});

const state = loadBinding();
const x = state.ok ? (state.binding.xchacha as NativeXChaCha) : undefined;
// Open has two paths (native/xchacha.h): OpenSSL's exported routines, tag first, and the EVP cipher.
for (const evp of [false, true]) {
  const skip = !x ? 'the addon is not built here' : !evp && !x.direct() ? "this node exports no ChaCha20_ctr32/Poly1305_*: only EVP's path runs" : false;
  t.test(`native (native/xchacha.cc over Node's OpenSSL, ${evp ? 'EVP' : 'exported routines'})`, { skip }, async (t) => {
    if (!x) return;
    for (const [key, input, out] of HCHACHA20) t.equal(hex(x.hchacha20(bytes(key), bytes(input))), out, `HChaCha20 ${key.slice(0, 8)}…`);
    t.equal(hex(x.seal(AEAD.key, AEAD.nonce, AEAD.ad, AEAD.message)), AEAD.sealed, 'draft A.3.1 seal');
    t.equal(Buffer.from(x.open(AEAD.key, AEAD.nonce, AEAD.ad, bytes(AEAD.sealed), evp)!).toString(), AEAD.message.toString(), 'opens');
    // Every single-byte change anywhere is refused (libsodium's test does the same).
    const sealed = bytes(AEAD.sealed);
    let opened = 0;
    for (let i = 0; i < sealed.length; i++) {
      sealed[i]! ^= i + 1;
      if (x.open(AEAD.key, AEAD.nonce, AEAD.ad, sealed, evp) !== null) opened++;
      sealed[i]! ^= i + 1;
    }
    t.equal(opened, 0, `none of ${sealed.length} altered messages opens`);
    t.equal(x.open(AEAD.key, AEAD.nonce, AEAD.ad.subarray(1), sealed, evp), null, 'other associated data');
    t.equal(x.open(AEAD.key, AEAD.nonce, AEAD.ad, sealed.subarray(0, 15), evp), null, 'shorter than a tag');
    const empty = x.seal(AEAD.key, AEAD.nonce, new Uint8Array(0), new Uint8Array(0));
    t.same(Buffer.from(x.open(AEAD.key, AEAD.nonce, new Uint8Array(0), empty, evp)!), Buffer.alloc(0), 'empty message, no AD');
    t.throws(() => x.hchacha20(new Uint8Array(31), new Uint8Array(16)), RangeError);
    t.throws(() => x.seal(AEAD.key, new Uint8Array(12), AEAD.ad, AEAD.message), RangeError, 'a 12-byte nonce is not XChaCha');
    // Messages of every length class (partial blocks, AD padding): native and libsodium alike, both ways.
    await sodiumReady();
    for (let n = 0; n < 600; n += 37) {
      const m = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      const ad = AEAD.ad.subarray(0, n % 13);
      const theirs = sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, null, AEAD.nonce, AEAD.key);
      t.equal(hex(x.seal(AEAD.key, AEAD.nonce, ad, m)), hex(theirs), `${n} bytes sealed alike`);
      t.equal(hex(x.open(AEAD.key, AEAD.nonce, ad, theirs, evp)!), hex(m), `${n} bytes opened`);
    }
  });
}
