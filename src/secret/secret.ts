/**
 * Finding and reading the MAAS shared secret. The value never leaves this
 * module except as bytes handed to deriveKey: errors name the file and the
 * problem, never the content.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, UsageError } from '../errors';

export const DEFAULT_SECRET_PATHS = ['/var/lib/maas/secret', '/var/snap/maas/common/maas/secret'] as const;

export interface SecretSource {
  readonly path: string;
  /** Where the path came from, for doctor and error messages. */
  readonly from: '--secret-file' | 'NETBEACON_SECRET_FILE' | 'systemd credential' | 'default';
}

export interface LoadedSecret extends SecretSource {
  readonly bytes: Uint8Array;
  /** Set when group or others may read the file. */
  readonly warning?: string;
}

/**
 * The secret's location, in order: --secret-file, $NETBEACON_SECRET_FILE,
 * a systemd credential named `netbeacon-secret` ($CREDENTIALS_DIRECTORY),
 * then MAAS's two default paths (the first that exists).
 */
export function locateSecret(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = fileExists): SecretSource {
  if (flag) return { path: flag, from: '--secret-file' };
  if (env.NETBEACON_SECRET_FILE) return { path: env.NETBEACON_SECRET_FILE, from: 'NETBEACON_SECRET_FILE' };
  if (env.CREDENTIALS_DIRECTORY) {
    const cred = join(env.CREDENTIALS_DIRECTORY, 'netbeacon-secret');
    if (exists(cred)) return { path: cred, from: 'systemd credential' };
  }
  const found = DEFAULT_SECRET_PATHS.find((p) => exists(p));
  if (found) return { path: found, from: 'default' };
  throw new UsageError(
    'E_SECRET_MISSING',
    `no MAAS secret found: give --secret-file FILE or set NETBEACON_SECRET_FILE (looked in ${DEFAULT_SECRET_PATHS.join(' and ')})`,
  );
}

/** Parse the file's text: hex, whitespace stripped. `where` names the file in errors. */
export function parseSecret(text: string, where: string): Uint8Array {
  const hex = text.replace(/\s+/g, '');
  if (hex.length === 0) throw new UsageError('E_SECRET_EMPTY', `secret file ${where} is empty`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new UsageError('E_SECRET_NOT_HEX', `secret file ${where} does not hold hex digits (MAAS stores the secret as hex)`);
  if (hex.length % 2 !== 0) throw new UsageError('E_SECRET_NOT_HEX', `secret file ${where} holds an odd number of hex digits (${hex.length})`);
  return Buffer.from(hex, 'hex');
}

export function loadSecret(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedSecret {
  const source = locateSecret(flag, env);
  let text: string;
  let mode: number;
  try {
    mode = statSync(source.path).mode;
    text = readFileSync(source.path, 'utf8');
  } catch (err) {
    throw new UsageError('E_SECRET_UNREADABLE', `secret file ${source.path} (from ${source.from}) ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
  const bytes = parseSecret(text, source.path);
  const warning =
    (mode & 0o077) !== 0 ? `secret file ${source.path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it` : undefined;
  return warning ? { ...source, bytes, warning } : { ...source, bytes };
}

function fileExists(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
