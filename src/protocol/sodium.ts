/**
 * libsodium (libsodium-wrappers: WebAssembly, no I/O) for beacon format v3.
 * Its `ready` promise must settle before any function is called; a driver
 * awaits `sodiumReady()` once at start, so that per-packet code only calls
 * the primitive. Calling `sodium()` before that is a programming error and
 * says so, rather than failing deep inside the WebAssembly module.
 */
import libsodium from 'libsodium-wrappers';

let loaded = false;

/** Settles once libsodium can be called; cheap after the first time. */
export async function sodiumReady(): Promise<void> {
  if (loaded) return;
  await libsodium.ready;
  loaded = true;
}

/** The library, once `sodiumReady()` has settled. */
export function sodium(): typeof libsodium {
  if (!loaded) throw new Error('libsodium is not ready: the driver must await sodiumReady() before beacon format v3 is used');
  return libsodium;
}
