/**
 * The key a command works with: the secret found (secret.ts), derived once
 * (~100 ms) and made into Node key objects. Warnings go to stderr; the
 * secret never does.
 */
import { keyObjects, type FernetKeyObjects } from '../protocol/fernet';
import { deriveKey, type FernetKey } from '../protocol/key';
import { loadSecret } from './secret';

export interface KeyMaterial {
  readonly key: FernetKey;
  readonly objects: FernetKeyObjects;
}

/** Find, read and derive the key once per process. */
export function loadKey(secretFile: string | undefined): KeyMaterial {
  const secret = loadSecret(secretFile);
  if (secret.warning) process.stderr.write(`netbeacon: warning: ${secret.warning}\n`);
  const key = deriveKey(secret.bytes);
  return { key, objects: keyObjects(key) };
}
