/**
 * An environment without the sanitizer runtime, for the programs a test lab
 * starts that are not ours (PostgreSQL's initdb and server, Chromium).
 *
 * Under `npm run test:asan` every process inherits LD_PRELOAD of the ASan
 * runtime, which is meant for node and the addon. Preloaded into other
 * programs it only costs: initdb under it ran past its 120 s limit on a
 * loaded machine (it runs dozens of postgres processes, each starting
 * through the sanitizer's allocator), and Debian's chromium wrapper script
 * broke on it ("[: …: unexpected operator") so that the launch timed out.
 */
const SANITIZER_VARS = /^(LD_PRELOAD|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS)$/;

export function withoutSanitizerRuntime(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !SANITIZER_VARS.test(k)) out[k] = v;
  return out;
}
