/**
 * Fabric names that last. `netbeacon topology` numbers fabrics fabric-0,
 * fabric-1… in order of their first segment; the fleet starts the same way
 * and then keeps each fabric's name from one model to the next where it
 * can, given the name each segment had before:
 * - every (fabric, old name) pair is a claim weighted by how many of the
 *   fabric's segments had that name; claims are granted heaviest first, one
 *   name per fabric and one fabric per name. So a fabric that grows keeps
 *   its name, of two that merge the larger's name survives, and of the
 *   parts of a split the larger keeps it;
 * - a fabric with no name left takes the lowest fabric-N that is neither
 *   granted nor among the old names (a name that just went away is not
 *   handed to a stranger in the same step).
 * Naming a model with its own names changes nothing, so a service that
 * stores the names and recomputes gets the same answer.
 */

const NUMBERED = /^fabric-(\d+)$/;

/** A fabric name's number, or Infinity for a name that is not fabric-N. */
function numberOf(name: string): number {
  const m = NUMBERED.exec(name);
  return m ? Number(m[1]) : Infinity;
}

/**
 * Names for `groups` (each a list of segment keys, in fabric order), from
 * the names the segments had before.
 */
export function nameFabrics(groups: readonly (readonly string[])[], previous: ReadonlyMap<string, string>): string[] {
  const claims: Array<{ group: number; name: string; weight: number }> = [];
  for (let g = 0; g < groups.length; g++) {
    const tally = new Map<string, number>();
    for (const key of groups[g]!) {
      const old = previous.get(key);
      if (old !== undefined) tally.set(old, (tally.get(old) ?? 0) + 1);
    }
    for (const [name, weight] of tally) claims.push({ group: g, name, weight });
  }
  claims.sort(
    (x, y) =>
      y.weight - x.weight ||
      groups[y.group]!.length - groups[x.group]!.length ||
      x.group - y.group ||
      numberOf(x.name) - numberOf(y.name) ||
      (x.name < y.name ? -1 : 1),
  );
  const names: Array<string | undefined> = Array.from({ length: groups.length }, () => undefined);
  const granted = new Set<string>();
  for (const c of claims) {
    if (names[c.group] !== undefined || granted.has(c.name)) continue;
    names[c.group] = c.name;
    granted.add(c.name);
  }
  const taken = new Set<number>();
  for (const n of previous.values()) taken.add(numberOf(n));
  for (const n of granted) taken.add(numberOf(n));
  let next = 0;
  return names.map((n) => {
    if (n !== undefined) return n;
    while (taken.has(next)) next++;
    taken.add(next);
    return `fabric-${next}`;
  });
}
