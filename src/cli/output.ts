/**
 * Writing many lines to stdout without building an unbounded backlog, and
 * without a crash when the reader goes away (`netbeacon observe … | head`).
 */
import { once } from 'node:events';

let closed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') closed = true;
  else throw err;
});

/** True once the reader has closed stdout: stop producing. */
export function stdoutClosed(): boolean {
  return closed;
}

export async function writeOut(text: string | Uint8Array): Promise<void> {
  if (closed || text.length === 0) return;
  if (!process.stdout.write(text)) await Promise.race([once(process.stdout, 'drain'), once(process.stdout, 'close')]);
}

/**
 * Writes and resolves once the data has been handed to the system, so that
 * the caller may reuse its buffer (observe's line encoder does).
 */
export function writeOutAndWait(data: Uint8Array): Promise<void> {
  if (closed || data.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    process.stdout.write(data, () => resolve());
  });
}
