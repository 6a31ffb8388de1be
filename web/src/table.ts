/**
 * The table view: the same model as rows of segments, one row each, under
 * the same filters as the map. A real <table> (caption, column headers with
 * scope), so screen readers read it as a table, and copyable: select it, or
 * the Copy button puts it on the clipboard as tab-separated text.
 */
import { h } from './dom';
import type { MapModel } from './model';
import { COLUMNS, rowOf, visibleSegments } from './rows';
import type { ViewState } from './view';

export { tsvOf } from './rows';

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
