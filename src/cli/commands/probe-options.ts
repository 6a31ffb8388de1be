/** Options the beyond-MAAS commands (discover, probe, mtu, vlans) and the agent's --ignore-vids share. */
import { InvalidArgumentError } from 'commander';
import { parseVidList } from '../../probe/vids';

/** A commander parser for "10,20,30-40", naming the option in the usage error. */
export function vidListArg(name: string): (value: string) => number[] {
  return (value: string) => {
    try {
      return parseVidList(value);
    } catch (err) {
      throw new InvalidArgumentError(`${name}: ${(err as Error).message}`);
    }
  };
}

/** Repeatable string option. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
