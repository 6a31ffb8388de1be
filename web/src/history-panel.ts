/** The history panel: the latest changes (GET /api/v1/history), newest first; picking one shows where it was. */
import { h } from './dom';
import type { HistoryEntry } from './api';

export function describeChange(c: HistoryEntry): string {
  const what = c.interface === null ? c.host : `${c.host}/${c.interface}${c.vid === null ? '' : ` vid ${c.vid}`}`;
  const verb = c.kind === 'segment_fabric' ? 'fabric' : c.kind === 'placement' ? 'placement' : 'presence';
  return `${what}: ${verb} ${c.before ?? '(none)'} → ${c.after ?? '(none)'}`;
}

export function historyList(changes: readonly HistoryEntry[], selected: number | null, onPick: (c: HistoryEntry) => void): HTMLElement {
  if (changes.length === 0) return h('p', { class: 'muted' }, 'no changes yet');
  const items = changes.map((c) => {
    const b = h(
      'button',
      { type: 'button', class: 'change', 'data-id': String(c.id), 'aria-pressed': String(c.id === selected) },
      h('time', { datetime: c.time }, c.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
      ' ',
      describeChange(c),
    );
    b.addEventListener('click', () => onPick(c));
    return h('li', {}, b);
  });
  return h('ol', { class: 'history' }, ...items);
}
