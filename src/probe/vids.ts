/**
 * VLAN id lists as people write them: "10,20,30-40". Used by
 * `vlans --vids`, `agent --ignore-vids` and the vlans expect file. VIDs
 * are 1-4094: 0 means untagged (priority-tagged) and 4095 is reserved, so
 * neither can name a VLAN to probe.
 */

export const MIN_VID = 1;
export const MAX_VID = 4094;

/** Why an item is not a VID or a range; undefined when it is one. */
export function vidItemProblem(item: string): string | undefined {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
  if (!m) return `"${item}" is not a VID (${MIN_VID}-${MAX_VID}) or a range "A-B"`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < MIN_VID || from > MAX_VID || to < MIN_VID || to > MAX_VID) return `"${item.trim()}" is outside ${MIN_VID}-${MAX_VID}`;
  if (from > to) return `"${item.trim()}" is a range whose start is above its end`;
  return undefined;
}

/** One item: a VID or an inclusive range; throws RangeError naming the item. */
export function parseVidItem(item: string): [number, number] {
  const problem = vidItemProblem(item);
  if (problem) throw new RangeError(problem);
  const [a, b] = item.split('-').map((s) => Number(s.trim()));
  return [a!, b ?? a!];
}

/** "10,20,30-40" → [10, 20, 30, …, 40], sorted, without duplicates. Throws RangeError naming the bad item. */
export function parseVidList(text: string): number[] {
  if (text.trim() === '') throw new RangeError('the list of VIDs is empty');
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [from, to] = parseVidItem(item);
    for (let v = from; v <= to; v++) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** [10, 11, 12, 20] → "10-12,20": the compact form tables print. */
export function formatVidList(vids: Iterable<number>): string {
  const sorted = [...new Set(vids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
