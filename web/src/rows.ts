/**
 * The table view's rows: one per segment the view shows, as text. DOM-free
 * (table.ts builds the <table> from them), so the tests run it in Node.
 */
import { formatSegment, joinLabel, type MapModel, type SegmentInfo } from './model';
import { segmentMatches, segmentPasses, type ViewState } from './view';

export const COLUMNS = ['Fabric', 'Host', 'Interface', 'VID', 'Joined to', 'Findings', 'MAAS placement', 'Why'] as const;

export function rowOf(s: SegmentInfo): string[] {
  const name = formatSegment(s.segment);
  const joined = s.joins.map((j) => `${formatSegment(formatSegment(j.a) === name ? j.b : j.a)} (${joinLabel(j)})`);
  const p = s.placement;
  const placement = !p ? '-' : p.fabric === null ? 'new fabric' : `${p.fabric}${p.vid === null ? '' : ` vid ${p.vid}`}${p.agrees ? '' : ' (disagrees)'}`;
  return [
    s.fabric,
    s.segment.host + (s.stale ? ' (stale)' : ''),
    s.segment.interface,
    s.segment.vid === null ? 'untagged' : String(s.segment.vid),
    joined.join('; ') || 'alone',
    [...new Set(s.findings.map((f) => f.kind))].join(', ') || '-',
    placement,
    p?.reason ?? '-',
  ];
}

/** The segments the view shows, in the model's order. */
export function visibleSegments(m: MapModel, v: ViewState): SegmentInfo[] {
  return [...m.index.segments.values()].filter((s) => {
    const d = { host: s.segment.host, fabric: s.fabric, vid: s.segment.vid === null ? 'untagged' : String(s.segment.vid), interface: s.segment.interface };
    return segmentPasses(d, v) && (v.q.trim() === '' || segmentMatches(d, v.q));
  });
}

/** Tab-separated, with a header row: pastes into a spreadsheet as columns. */
export function tsvOf(m: MapModel, v: ViewState): string {
  const clean = (s: string): string => s.replace(/[\t\n]/g, ' ');
  return [COLUMNS.join('\t'), ...visibleSegments(m, v).map((s) => rowOf(s).map(clean).join('\t'))].join('\n') + '\n';
}
