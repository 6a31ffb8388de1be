/**
 * FernetOpener (one ECB decipher and the CBC chaining by hand) against
 * fernetVerifyDecrypt (a CBC decipher per token): the same answer for
 * authentic tokens of every length, forged MACs and bad padding, token
 * after token through one opener.
 */
import t from 'tap';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { FernetOpener, checkTokenClear, fernetEncrypt, fernetVerifyDecrypt, keyObjects } from '../../src/protocol/fernet';
import { corpusKey } from '../helpers/corpus';

const keys = keyObjects(corpusKey());
const NOW = 1_795_000_000;

/** A token whose ciphertext decrypts to `padded` (no padding added), correctly signed. */
function rawToken(padded: Buffer): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', keys.encryption, iv);
  c.setAutoPadding(false);
  const ct = Buffer.concat([c.update(padded), c.final()]);
  const body = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(8), iv, ct]);
  body.writeBigUInt64BE(BigInt(NOW), 1);
  return Buffer.concat([body, createHmac('sha256', keys.signing).update(body).digest()]);
}

t.test('the same answer as fernetVerifyDecrypt, token after token', (t) => {
  const opener = new FernetOpener(keys);
  const tokens: Buffer[] = [];
  for (let len = 0; len < 80; len++) tokens.push(fernetEncrypt(keys, randomBytes(len), NOW));
  const forged = fernetEncrypt(keys, randomBytes(40), NOW);
  forged[forged.length - 1] = forged[forged.length - 1]! ^ 1;
  tokens.push(forged);
  for (const pad of [0, 17, 255]) tokens.push(rawToken(Buffer.concat([randomBytes(31), Buffer.from([pad])])));
  tokens.push(rawToken(Buffer.concat([randomBytes(28), Buffer.from([1, 4, 4, 4])]))); // pad 4 with a wrong byte
  tokens.push(rawToken(Buffer.concat([randomBytes(16), Buffer.alloc(16, 16)]))); // a whole block of padding
  let checked = 0;
  for (const tok of tokens) {
    // Inside a larger buffer, as a batch holds them.
    const b = Buffer.concat([Buffer.from([7, 7]), tok, Buffer.from([7])]);
    t.equal(checkTokenClear(b, 2, 2 + tok.length, NOW), undefined);
    const want = fernetVerifyDecrypt(keys, b, 2, 2 + tok.length);
    const got = opener.verifyDecrypt(b, 2, 2 + tok.length);
    t.same(typeof got === 'string' ? got : Buffer.from(got), typeof want === 'string' ? want : Buffer.from(want));
    checked++;
  }
  t.equal(checked, tokens.length);
  t.same(
    new Set(
      tokens.map((tok) => {
        const r = opener.verifyDecrypt(tok, 0, tok.length);
        return typeof r === 'string' ? r : 'ok';
      }),
    ),
    new Set(['ok', 'mac', 'padding']),
    'every outcome was reached',
  );
  t.end();
});
