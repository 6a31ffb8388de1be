/**
 * What the user is looking at, as the URL's query string: filters by host,
 * fabric and VID, the search text, map or table, and the selection. Kept in
 * the URL so that a view can be shared by copying the address. DOM-free.
 *
 *   /?host=rack1,rack2&fabric=fabric-0&vid=untagged,100&q=eth1&view=table&sel=…
 */
import type { NodeData } from './model';

export interface ViewState {
  readonly host: readonly string[];
  readonly fabric: readonly string[];
  /** `untagged` or VIDs as text. */
  readonly vid: readonly string[];
  readonly q: string;
  readonly view: 'map' | 'table';
  /** The selected element's id, when any. */
  readonly sel: string | null;
}

export const EMPTY_VIEW: ViewState = { host: [], fabric: [], vid: [], q: '', view: 'map', sel: null };

const list = (v: string | null): string[] =>
  v === null
    ? []
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Anything unknown or malformed is ignored: a shared link never breaks the page. */
export function parseView(search: string): ViewState {
  const p = new URLSearchParams(search);
  const vid = list(p.get('vid')).filter((v) => v === 'untagged' || (/^\d{1,4}$/.test(v) && Number(v) <= 4094));
  return {
    host: list(p.get('host')),
    fabric: list(p.get('fabric')),
    vid: vid.map((v) => (v === 'untagged' ? v : String(Number(v)))),
    q: p.get('q') ?? '',
    view: p.get('view') === 'table' ? 'table' : 'map',
    sel: p.get('sel') || null,
  };
}

/** The query string for a view (with `?`), or '' when it is the default one. */
export function formatView(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.host.length) p.set('host', v.host.join(','));
  if (v.fabric.length) p.set('fabric', v.fabric.join(','));
  if (v.vid.length) p.set('vid', v.vid.join(','));
  if (v.q) p.set('q', v.q);
  if (v.view !== 'map') p.set('view', v.view);
  if (v.sel) p.set('sel', v.sel);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const hasFilters = (v: ViewState): boolean => v.host.length + v.fabric.length + v.vid.length > 0;

/** Whether a segment passes the host, fabric and VID filters (each empty filter passes everything). */
export function segmentPasses(d: Pick<NodeData, 'host' | 'fabric' | 'vid'>, v: ViewState): boolean {
  return (
    (v.host.length === 0 || v.host.includes(d.host ?? '')) &&
    (v.fabric.length === 0 || v.fabric.includes(d.fabric)) &&
    (v.vid.length === 0 || v.vid.includes(d.vid ?? ''))
  );
}

/**
 * Whether a segment matches the search: the text, case-insensitive, in its
 * host, interface, fabric or VID, or in one of `extra` (its MAC, addresses).
 */
export function segmentMatches(d: Pick<NodeData, 'host' | 'interface' | 'fabric' | 'vid'>, q: string, extra: readonly string[] = []): boolean {
  const needle = q.trim().toLowerCase();
  if (needle === '') return false;
  return [d.host, d.interface, d.fabric, d.vid === 'untagged' ? undefined : `vid ${d.vid}`, ...extra].some(
    (s) => s !== undefined && s.toLowerCase().includes(needle),
  );
}
