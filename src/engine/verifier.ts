/** Builds the batch verifier for the chosen engine. */
import { JsBatchVerifier } from './js-verifier';
import { NativeBatchVerifier } from './native-verifier';
import type { BatchVerifier, EngineName, FernetKey } from './types';

export function createVerifier(engine: EngineName, key: FernetKey): BatchVerifier {
  return engine === 'native' ? new NativeBatchVerifier(key) : new JsBatchVerifier(key);
}
