/**
 * The table view: the same model as rows of segments, one row each, under
 * the same filters as the map. A real <table> (caption, column headers with
 * scope), so screen readers read it as a table, and copyable: select it, or
 * the Copy button puts it on the clipboard as tab-separated text.
 */
import { h } from './dom';
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

export function tableOf(m: MapModel, v: ViewState, onPick: (id: string) => void): HTMLTableElement {
  const rows = visibleSegments(m, v);
  const caption = `${rows.length} of ${m.index.segments.size} segments`;
  const body = rows.map((s) => {
    const cells = rowOf(s);
    const tr = h('tr', { 'data-id': s.id }, ...cells.map((c, i) => (i === 2 ? h('th', { scope: 'row' }, c) : h('td', {}, c))));
    tr.addEventListener('click', () => onPick(s.id));
    return tr;
  });
  return h(
    'table',
    { class: 'segments', id: 'segment-table' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...body),
  );
}

/** Tab-separated, with a header row: pastes into a spreadsheet as columns. */
export function tsvOf(m: MapModel, v: ViewState): string {
  const clean = (s: string): string => s.replace(/[\t\n]/g, ' ');
  return [COLUMNS.join('\t'), ...visibleSegments(m, v).map((s) => rowOf(s).map(clean).join('\t'))].join('\n') + '\n';
}
