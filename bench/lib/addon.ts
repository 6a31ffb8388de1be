/**
 * The addon file can vanish under a running bench: `npm run build:native`
 * (node-gyp rebuild) deletes build/Release before it links a new one, and
 * in a shared checkout someone may rebuild at any time. A worker that
 * starts in that gap fails to load it; rather than losing the row, the
 * bench waits for the file to come back and runs the worker again. The
 * machine block reports when the addon changed during the run, because
 * then its rows mix two builds.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths';

export function addonPath(): string {
  return join(repoRoot(), 'build', 'Release', 'netbeacon.node');
}

/** The addon's modification time, or null when it is not there. */
export function addonStamp(): number | null {
  try {
    return statSync(addonPath()).mtimeMs;
  } catch {
    return null;
  }
}

const GONE = /netbeacon\.node does not exist|build\/Release\/netbeacon\.node.*(No such file|cannot open)|has ABI \d+, expected/;

/** Runs fn; if it failed because the addon was being rebuilt, waits for the addon (3 min at most) and runs it again (twice at most). */
export async function retryIfAddonGone<T>(log: (line: string) => void, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (attempt >= 2 || !GONE.test(msg)) throw err;
      log(`${what}: the addon vanished (being rebuilt?); waiting for it to come back, then again`);
      const deadline = Date.now() + 180_000;
      while (!existsSync(addonPath())) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
      // Let the rebuild finish writing.
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}
