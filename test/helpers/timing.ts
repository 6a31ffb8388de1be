/**
 * How much slower than npm test's plain run this run is allowed to be, for
 * the few tests that wait on wall-clock bounds (a status answer within
 * 100 ms during a flood, a hint within seconds of a start).
 * scripts/test-asan.sh sets NETBEACON_TEST_TIMING_SCALE: under the
 * sanitizers every node process runs 3-4 times slower (its allocations go
 * through ASan's allocator), so a bound met with room to spare in npm test
 * is missed by a few per cent there. A plain run is held to the bounds
 * themselves: the scale is 1 unless the variable says otherwise.
 */
function readScale(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1) throw new Error(`NETBEACON_TEST_TIMING_SCALE=${raw}: not a number >= 1`);
  return n;
}

export const TIMING_SCALE = readScale(process.env.NETBEACON_TEST_TIMING_SCALE);

/** `ms` scaled for this run. */
export function scaledMs(ms: number): number {
  return ms * TIMING_SCALE;
}

/** " (x3 under the sanitizers)" when scaled, for an assertion's message; "" in a plain run. */
export function scaleNote(): string {
  return TIMING_SCALE === 1 ? '' : ` (x${TIMING_SCALE}: NETBEACON_TEST_TIMING_SCALE)`;
}
