/** Where things are, whether the bench runs built (dist/bench) or from source under a loader. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root: the nearest directory up from here with package.json and binding.gyp. */
export function repoRoot(): string {
  let dir = resolve(__dirname);
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = resolve(dir, '..');
  }
  return resolve(__dirname, '..', '..');
}

/** The shared MAAS vectors (../shared/vectors/maas beside the repository); $NETBEACON_VECTORS overrides. */
export function vectorsDir(): string {
  return process.env.NETBEACON_VECTORS ?? resolve(repoRoot(), '..', 'shared', 'vectors', 'maas');
}
