/**
 * The fleet model as Graphviz (`netbeacon fleet topology --format dot`):
 * each fabric a cluster, each host a cluster inside it, each segment a node,
 * each join an edge labelled with its evidence. Findings are drawn as the
 * map draws them: a native-VLAN mismatch red, a duplicate MAC orange, an
 * unknown MAC purple, a stale host greyed and dashed. Pure: the document in,
 * text out (`dot -Tsvg` draws it).
 */
import { formatFleetSegment, keyOf, type FleetSegment } from './segment';
import type { FleetJoin, FleetTopology, FindingKind } from './types';

const FONT = 'DejaVu Sans';
const FINDING_COLOR: Record<Exclude<FindingKind, 'stale_host'>, string> = {
  native_vlan_mismatch: '#c62828',
  duplicate_mac: '#e67e00',
  unknown_mac: '#7d4fb0',
};
const EDGE_STYLE: Record<FleetJoin['kind'], string> = {
  interface: 'color="#9aa5b1", penwidth=2',
  local: 'color="#6b7c8f", style=dotted, penwidth=2',
  remote: 'color="#2f6fb3"',
  peer: 'color="#7d4fb0", style=dashed',
};

/** A DOT quoted string: every id and label goes through this. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function edgeLabel(j: FleetJoin): string {
  if (j.kind === 'interface') return 'same interface';
  if (j.kind === 'peer' && j.peer) return `via ${j.peer.ifname} ${j.peer.mac}`;
  return [...new Set(j.hints.map((h) => h.hint))].sort().join(', ');
}

export function renderDot(t: FleetTopology): string {
  const stale = new Set(t.findings.filter((f) => f.kind === 'stale_host').flatMap((f) => f.hosts));
  const marks = new Map<string, string>();
  const mismatch = new Set<string>();
  for (const f of t.findings) {
    if (f.kind === 'stale_host') continue;
    for (const s of f.segments) if (!marks.has(keyOf(s))) marks.set(keyOf(s), FINDING_COLOR[f.kind]);
    const [a, b] = f.segments;
    if (f.kind === 'native_vlan_mismatch' && a && b) mismatch.add(`${keyOf(a)}\u0001${keyOf(b)}`);
  }
  const id = (s: FleetSegment): string => dotString(formatFleetSegment(s));
  const lines = [
    'graph fleet {',
    `  graph [fontname=${dotString(FONT)}, compound=true, rankdir=LR, label=${dotString(`netbeacon fleet: ${t.hosts.total} hosts (${t.hosts.stale} stale), ${t.fabrics.length} fabrics, as of ${t.generated_at}`)}];`,
    `  node [fontname=${dotString(FONT)}, shape=box, style="rounded,filled", fillcolor="#2f6fb3", fontcolor=white, fontsize=10];`,
    `  edge [fontname=${dotString(FONT)}, fontsize=8];`,
  ];
  for (const f of t.fabrics) {
    const vids = f.vids.map((v) => (v === null ? 'untagged' : String(v))).join(', ');
    lines.push(
      `  subgraph ${dotString(`cluster_${f.name}`)} {`,
      `    label=${dotString(`${f.name} (VIDs ${vids})`)}; style="rounded,filled"; fillcolor="#e8f1fb"; color="#7a8ca3";`,
    );
    for (const host of f.hosts) {
      const greyed = stale.has(host);
      lines.push(
        `    subgraph ${dotString(`cluster_${f.name}/${host}`)} {`,
        `      label=${dotString(greyed ? `${host} (stale)` : host)}; style=${greyed ? '"rounded,dashed,filled"; color="#9e9e9e"; fontcolor="#9e9e9e"' : '"rounded,filled"; color="#8d99a6"'}; fillcolor=white;`,
      );
      for (const s of f.segments) {
        if (s.host !== host) continue;
        const attrs = [`label=${dotString(s.vid === null ? s.interface : `${s.interface} · ${s.vid}`)}`];
        if (greyed) attrs.push('fillcolor="#9e9e9e"');
        else if (s.vid !== null) attrs.push('fillcolor="#2a8a5b"');
        const mark = marks.get(keyOf(s));
        if (mark) attrs.push(`color=${dotString(mark)}`, 'penwidth=3');
        lines.push(`      ${id(s)} [${attrs.join(', ')}];`);
      }
      lines.push('    }');
    }
    lines.push('  }');
  }
  for (const f of t.fabrics) {
    for (const j of f.joins) {
      const bad = mismatch.has(`${keyOf(j.a)}\u0001${keyOf(j.b)}`) || mismatch.has(`${keyOf(j.b)}\u0001${keyOf(j.a)}`);
      lines.push(
        `  ${id(j.a)} -- ${id(j.b)} [label=${dotString(edgeLabel(j))}, ${bad ? `color=${dotString(FINDING_COLOR.native_vlan_mismatch)}, penwidth=3` : EDGE_STYLE[j.kind]}];`,
      );
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
