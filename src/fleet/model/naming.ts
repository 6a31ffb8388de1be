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

/** The names segments had: a map, or what reads one. */
export interface NameLookup {
  get(key: string): string | undefined;
  values(): Iterable<string>;
}

const NUMBERED = /^fabric-(\d+)$/;

/** A fabric name's number, or Infinity for a name that is not fabric-N. */
function numberOf(name: string): number {
  const m = NUMBERED.exec(name);
  return m ? Number(m[1]) : Infinity;
}

/** A group's claim on an old name: how many of its segments had it. */
export interface Claim {
  readonly name: string;
  readonly weight: number;
}

/** The claims of a group of segment keys on the names they had. */
export function claimsOf(keys: readonly string[], previous: NameLookup): Claim[] {
  const tally = new Map<string, number>();
  for (const key of keys) {
    const old = previous.get(key);
    if (old !== undefined) tally.set(old, (tally.get(old) ?? 0) + 1);
  }
  return [...tally].map(([name, weight]) => ({ name, weight }));
}

/** numberOf(every old name). */
export function numbersOf(previous: NameLookup): Set<number> {
  const taken = new Set<number>();
  for (const n of previous.values()) taken.add(numberOf(n));
  return taken;
}

/**
 * Names for `groups` (each a list of segment keys, in fabric order), from
 * the names the segments had before.
 */
export function nameFabrics(groups: readonly (readonly string[])[], previous: NameLookup): string[] {
  return nameGroups(
    groups.map((g) => ({ claims: claimsOf(g, previous), size: g.length })),
    numbersOf(previous),
  );
}

/**
 * nameFabrics from each group's claims and size (in fabric order) and the
 * numbers of the old names: for a caller that keeps the claims of groups
 * that did not change.
 */
export function nameGroups(groups: ReadonlyArray<{ readonly claims: readonly Claim[]; readonly size: number }>, oldNumbers: ReadonlySet<number>): string[] {
  const claims: Array<{ group: number; name: string; weight: number }> = [];
  for (let g = 0; g < groups.length; g++) for (const c of groups[g]!.claims) claims.push({ group: g, name: c.name, weight: c.weight });
  claims.sort(
    (x, y) =>
      y.weight - x.weight ||
      groups[y.group]!.size - groups[x.group]!.size ||
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
  const taken = new Set<number>(oldNumbers);
  for (const n of granted) taken.add(numberOf(n));
  let next = 0;
  return names.map((n) => {
    if (n !== undefined) return n;
    while (taken.has(next)) next++;
    taken.add(next);
    return `fabric-${next}`;
  });
}
