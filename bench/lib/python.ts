/**
 * The maas-python baseline runs under Debian's python3, which is where
 * python3-cryptography and python3-bson install (a python3 earlier on PATH,
 * such as a pyenv build, usually lacks them). $NETBEACON_BENCH_PYTHON
 * overrides it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths';

export const PYTHON = process.env.NETBEACON_BENCH_PYTHON ?? '/usr/bin/python3';

/** The bench's Python scripts live in bench/ itself, not in dist/. */
export function pythonScript(name: string): string {
  return join(repoRoot(), 'bench', name);
}

let checked: string | null | undefined;

/** Why the baseline cannot run here, or null when it can. */
export function pythonUnavailable(): string | null {
  if (checked !== undefined) return checked;
  const probe = 'from cryptography.fernet import Fernet; Fernet.decrypt_at_time; import bson; bson.BSON; import gzip, struct';
  const r = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8' });
  if (r.error) checked = `${PYTHON} cannot run (${r.error.message}): install python3`;
  else if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    checked = `${PYTHON} lacks MAAS's libraries (${last}): apt-get install python3-cryptography python3-bson`;
  } else checked = null;
  return checked;
}
