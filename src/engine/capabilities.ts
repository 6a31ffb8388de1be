import { readFileSync } from 'node:fs';

/** Linux capability numbers we care about (linux/capability.h). */
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_SYS_ADMIN = 21;

/** The effective capability set of this process, from /proc/self/status; undefined off Linux. */
export function effectiveCapabilities(statusText?: string): bigint | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  return m ? BigInt('0x' + m[1]) : undefined;
}

export function hasCapability(cap: number, caps: bigint | undefined = effectiveCapabilities()): boolean {
  return caps !== undefined && (caps & (1n << BigInt(cap))) !== 0n;
}
