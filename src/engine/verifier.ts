/** Builds the batch verifier for the chosen engine. */
import { JsBatchVerifier } from './js-verifier';
import { NativeBatchVerifier } from './native-verifier';
import type { BatchVerifier, EngineName } from './types';
import type { FernetKey } from '../protocol/key';

export function createVerifier(engine: EngineName, key: FernetKey): BatchVerifier {
  return engine === 'native' ? new NativeBatchVerifier(key) : new JsBatchVerifier(key);
}
