/**
 * The crypto floor: the addon's cryptoFloor loop (HMAC-SHA256 check,
 * AES-128-CBC decrypt, gunzip; no header, no age check, no JS per token)
 * over the valid input's token, calibrated to run about --seconds. Prints
 * {"nsPerToken", "rate", "tokens", "iterations"}.
 */
import { loadBinding } from '../../src/engine/binding';
import { readInputs } from '../lib/inputs';
import { answer, flag, numberFlag, workerMain } from '../lib/worker-args';

type CryptoFloor = (tokens: Uint8Array, offsets: Uint32Array, signing: Uint8Array, encryption: Uint8Array, iterations: number) => number;

const COPIES = 64;

workerMain(() => {
  const state = loadBinding();
  if (!state.ok) throw new Error(`the addon is not available: ${state.detail}`);
  const floor = state.binding.cryptoFloor as CryptoFloor | undefined;
  if (typeof floor !== 'function') throw new Error('the addon has no cryptoFloor export');
  const inputs = readInputs(flag('--inputs'));
  const token = inputs.sets.valid[0]!.subarray(4); // past the !BBH header
  const tokens = new Uint8Array(token.length * COPIES);
  const offsets = new Uint32Array(COPIES + 1);
  for (let i = 0; i < COPIES; i++) {
    tokens.set(token, i * token.length);
    offsets[i + 1] = (i + 1) * token.length;
  }
  const { signing, encryption } = inputs.key;
  const seconds = numberFlag('--seconds');
  // Calibrate (this also warms up), then one timed call of about `seconds`.
  let iterations = 16;
  let ns = floor(tokens, offsets, signing, encryption, iterations);
  const warm = numberFlag('--warmup');
  iterations = Math.max(1, Math.round((warm * 1e9) / (ns * COPIES)));
  ns = floor(tokens, offsets, signing, encryption, iterations);
  iterations = Math.max(1, Math.round((seconds * 1e9) / (ns * COPIES)));
  ns = floor(tokens, offsets, signing, encryption, iterations);
  answer({ nsPerToken: ns, rate: 1e9 / ns, tokens: COPIES * iterations, iterations });
});
