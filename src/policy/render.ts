/**
 * Text for people: drift reports and placements, each decision followed by
 * the chain of joins behind it. Machines get the JSON forms; nothing
 * parses this.
 */
import { formatSegment } from '../topology/segment';
import type { TopologyHint } from '../topology/hints';
import type { DriftReport } from './drift';
import type { ProofStep } from './evidence';
import type { PlacementCandidate, PlacementResult } from './place';

const INDENT = '    ';

/** `eth0 -> eth2: same_local_fabric_as`, one line per step. */
export function renderPath(path: readonly ProofStep[]): string[] {
  return path.map((s) => {
    const head = `${INDENT}${formatSegment(s.from)} -> ${formatSegment(s.to)}: `;
    if (s.via === 'interface') return `${head}VLANs of one interface`;
    if (s.via === 'peer') return `${head}both heard ${s.peer!.mac}${s.peer!.vid === undefined ? '' : ` vid ${s.peer!.vid}`} (${kinds(s.hints)})`;
    return head + kinds(s.hints);
  });
}

/** The distinct hint kinds, with counts when a kind repeats. */
function kinds(hints: readonly TopologyHint[]): string {
  const counts = new Map<string, number>();
  for (const h of hints) counts.set(h.hint, (counts.get(h.hint) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n === 1 ? k : `${k} x${n}`)).join(', ');
}

export function renderDrift(report: DriftReport): string {
  const lines: string[] = [];
  if (report.ok) lines.push('no drift: what the beacons show agrees with the declared topology');
  else lines.push(`${report.drift.length} drift ${report.drift.length === 1 ? 'event' : 'events'}:`);
  for (const e of report.drift) {
    lines.push(`${e.kind}: ${e.message}`);
    if (e.paths.length > 0) for (const p of e.paths) lines.push(...renderPath(p));
    else if (e.hints.length > 0) lines.push(`${INDENT}hints: ${kinds(e.hints)}`);
    // Only events resting on absence have neither paths nor hints.
    else lines.push(`${INDENT}(nothing seen: a quiet segment looks the same; send beacons and check again)`);
  }
  if (report.undeclared.length > 0) lines.push(`not declared (not drift): ${report.undeclared.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function vlanText(c: { readonly vid?: number }): string {
  return c.vid === undefined ? 'VLAN unknown' : c.vid === 0 ? 'untagged VLAN' : `VLAN ${c.vid}`;
}

function evidenceLines(c: PlacementCandidate): string[] {
  // Never empty: the placed and the known segment are on different interfaces.
  return c.evidence.flatMap((e) => renderPath(e.path));
}

export function renderPlacement(result: PlacementResult): string {
  const lines: string[] = [];
  for (const p of result.placements) {
    lines.push(`${p.ifname}: fabric ${p.fabric}, ${vlanText(p)} (${p.rule === 'maas' ? "MAAS's rule agrees" : 'from the fabric view'})`);
    lines.push(...evidenceLines(p));
  }
  for (const c of result.conflicts) {
    lines.push(`${c.ifname}: conflict, not placed: ${c.candidates.map((x) => `fabric ${x.fabric}, ${vlanText(x)}`).join(' vs ')}`);
    for (const x of c.candidates) {
      lines.push(`  fabric ${x.fabric}, ${vlanText(x)}:`);
      lines.push(...evidenceLines(x));
    }
  }
  if (result.unplaced.length > 0) lines.push(`not placed (joined to nothing known): ${result.unplaced.join(', ')}`);
  if (lines.length === 0) lines.push('nothing to place: every interface seen is known');
  return `${lines.join('\n')}\n`;
}
