/**
 * The interfaces the kernel shows in /sys/class/net: names, MACs, state.
 * Enough for `doctor`; the agent's discovery adds addresses from rtnetlink.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SysInterface {
  readonly name: string;
  readonly mac: string | null;
  readonly operstate: string;
  readonly up: boolean;
  readonly loopback: boolean;
  readonly mtu: number | null;
  readonly ifindex: number | null;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

export function listSysInterfaces(root = '/sys/class/net'): SysInterface[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const read = (f: string): string | null => {
      try {
        return readFileSync(join(root, name, f), 'utf8').trim();
      } catch {
        return null;
      }
    };
    const flags = Number.parseInt(read('flags') ?? '0', 16) || 0;
    const mtu = Number(read('mtu'));
    const ifindex = Number(read('ifindex'));
    return {
      name,
      mac: read('address'),
      operstate: read('operstate') ?? 'unknown',
      up: (flags & IFF_UP) !== 0,
      loopback: (flags & IFF_LOOPBACK) !== 0,
      mtu: Number.isFinite(mtu) && mtu > 0 ? mtu : null,
      ifindex: Number.isFinite(ifindex) && ifindex > 0 ? ifindex : null,
    };
  });
}
