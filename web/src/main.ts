/**
 * The fleet map page: fetches the server's model, draws it, and keeps it
 * current by polling with ETags (a 304 costs nothing), while the view —
 * filters, search, map or table, selection — lives in the URL.
 */
import { Api, ApiError, PREFETCH_PATH, setToken, takeToken, TOPOLOGY_PATH, type HistoryEntry, type HostsDocument } from './api';
import { byId, fill, h } from './dom';
import { fabricEvidence, hostEvidence, joinEvidence, segmentEvidence } from './evidence';
import { download, pngOf, svgOf } from './export';
import { FleetGraph } from './graph';
import { historyList } from './history-panel';
import { buildMapModel, fabricId, fromOverview, segmentId, type FleetTopology, type FleetTopologyOverview, type MapModel } from './model';
import { tableOf, tsvOf } from './table';
import { formatView, hasFilters, parseView, type ViewState } from './view';

const POLL_MS = 2000;
const HISTORY_LIMIT = 50;

interface State {
  view: ViewState;
  topology: FleetTopology | null;
  /** 'overview' while the model is the first draw's (no hints: api.ts, PREFETCH_PATH), 'full' once the full topology is in. */
  detail: 'overview' | 'full';
  model: MapModel | null;
  hosts: HostsDocument | null;
  history: HistoryEntry[];
  pickedChange: number | null;
  updates: number;
  error: string | null;
}

const state: State = {
  view: parseView(location.search),
  topology: null,
  detail: 'overview',
  model: null,
  hosts: null,
  history: [],
  pickedChange: null,
  updates: 0,
  error: null,
};
const api = new Api(takeToken());
const graph = new FleetGraph(byId('map'), (id) => select(id, false));

let resolveDrawn: (ms: number) => void = () => undefined;
const drawn = new Promise<number>((r) => (resolveDrawn = r));

/** For tests and the bench: the graph library's instance and the page's state. */
declare global {
  interface Window {
    netbeaconMap: { cy: FleetGraph['cy']; graph: FleetGraph; state: State; drawn: Promise<number>; refresh: () => Promise<void> };
  }
}
window.netbeaconMap = { cy: graph.cy, graph, state, drawn, refresh: () => refresh() };

function setView(next: ViewState, push = false): void {
  state.view = next;
  const url = location.pathname + formatView(next);
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

function status(text: string, problem = false): void {
  const el = byId('status');
  el.textContent = text;
  el.classList.toggle('problem', problem);
}

function extraOf(id: string): string[] {
  const s = state.model?.index.segments.get(id);
  if (!s) return [];
  const i = state.hosts?.hosts.find((x) => x.name === s.segment.host)?.interfaces.find((x) => x.name === s.segment.interface);
  return i ? [...(i.mac ? [i.mac] : []), ...i.addresses] : [];
}

function renderView(fitAfter: boolean): void {
  const m = state.model;
  if (!m) return;
  const matches = graph.applyView(state.view, extraOf);
  const v = state.view;
  byId('search-count').textContent = v.q.trim() ? `${matches} match${matches === 1 ? '' : 'es'}` : '';
  const table = v.view === 'table';
  byId('map').hidden = table;
  byId('table-view').hidden = !table;
  byId('tab-map').setAttribute('aria-selected', String(!table));
  byId('tab-table').setAttribute('aria-selected', String(table));
  if (table)
    fill(
      byId('table-wrap'),
      tableOf(m, v, (id) => select(id, true)),
    );
  else if (fitAfter) graph.fit(v.q.trim() !== '' && matches > 0);
  byId('clear-filters').hidden = !hasFilters(v) && !v.q;
}

function renderFindings(): void {
  const t = state.topology;
  const el = byId('findings');
  if (!t) return;
  if (t.findings.length === 0) return fill(el, h('p', { class: 'muted' }, 'none'));
  const items = t.findings.map((f) => {
    const b = h('button', { type: 'button', class: `finding f-${f.kind}` }, h('strong', {}, f.kind.replace(/_/g, ' ')), ' ', f.message);
    b.addEventListener('click', () => {
      const seg = f.segments[0];
      if (seg) select(segmentId(seg), true);
      else if (f.hosts[0]) select(hostNodeOf(f.hosts[0]), true);
    });
    return h('li', {}, b);
  });
  fill(el, h('ul', {}, ...items));
}

function hostNodeOf(host: string): string | null {
  const fabric = state.model?.index.hosts.get(host)?.fabrics[0];
  return fabric === undefined ? null : `h${JSON.stringify([fabric, host])}`;
}

function renderEvidence(): void {
  const el = byId('evidence');
  const m = state.model;
  const id = state.view.sel;
  if (!m || id === null) return fill(el, h('p', { class: 'muted' }, 'Select a segment, a join, a host or a fabric to see the evidence.'));
  // The first draw's model has no hints; the full one follows it (refresh), and renders this again.
  if (state.detail === 'overview') return fill(el, h('p', { class: 'muted' }, 'Loading the evidence…'));
  const seg = m.index.segments.get(id);
  if (seg) return fill(el, segmentEvidence(seg, state.hosts));
  const join = m.index.joins.get(id);
  if (join) return fill(el, joinEvidence(join.join, join.fabric, join.findings));
  try {
    if (id.startsWith('h')) return fill(el, hostEvidence(m, (JSON.parse(id.slice(1)) as [string, string])[1], state.hosts));
    if (id.startsWith('f')) return fill(el, fabricEvidence(m, JSON.parse(id.slice(1)) as string));
  } catch {
    /* not one of ours */
  }
  fill(el, h('p', { class: 'muted' }, 'The selected element is no longer in the model.'));
}

function select(id: string | null, fromPanel: boolean): void {
  if (id === state.view.sel && !fromPanel) return;
  setView({ ...state.view, sel: id });
  if (fromPanel) {
    graph.select(id);
    const el = id === null ? null : graph.cy.getElementById(id);
    if (el && el.nonempty() && state.view.view === 'map') graph.cy.animate({ center: { eles: el } }, { duration: 200 });
  }
  if (!fromPanel || id === null) {
    // A selection of the user's own ends the history's "was here".
    graph.clearWas();
    state.pickedChange = null;
    byId('history-note').textContent = '';
    renderHistory();
  }
  renderEvidence();
}

function pickChange(c: HistoryEntry): void {
  const target = c.interface === null ? hostNodeOf(c.host) : segmentId({ host: c.host, interface: c.interface, vid: c.vid });
  select(target, true);
  state.pickedChange = c.id;
  const before = c.kind === 'host_presence' ? null : (c.before?.split(' ')[0] ?? null);
  const label = c.interface === null ? c.host : `${c.host}/${c.interface}${c.vid === null ? '' : ` vid ${c.vid}`}`;
  graph.showWas(before === null ? null : fabricId(before), label);
  renderHistory();
  byId('history-note').textContent =
    before === null
      ? `${label}: ${c.before ?? 'new'} → ${c.after ?? 'gone'}`
      : `${label} was on ${c.before} before ${c.time}; it is on ${c.after ?? 'no fabric'} since`;
}

function renderHistory(): void {
  fill(byId('history'), historyList(state.history, state.pickedChange, pickChange));
}

function fillLists(m: MapModel): void {
  const opts = (id: string, values: Iterable<string>): void => fill(byId(id), ...[...values].map((v) => h('option', { value: v })));
  opts('hosts-list', [...m.index.hosts.keys()].sort());
  opts('fabrics-list', m.index.fabrics.keys());
  opts('vids-list', new Set([...m.index.segments.values()].map((s) => (s.segment.vid === null ? 'untagged' : String(s.segment.vid)))));
}

async function refresh(): Promise<void> {
  try {
    const first = state.model === null;
    // The first draw from the overview; then the full topology, with the hints, at once and on every poll.
    const topo = first
      ? await api.get<FleetTopologyOverview>(PREFETCH_PATH).then((r) => ({ changed: r.changed, doc: fromOverview(r.doc) }))
      : await api.get<FleetTopology>(TOPOLOGY_PATH);
    state.error = null;
    const upgraded = !first && state.detail === 'overview';
    if (topo.changed || upgraded || !state.model) {
      performance.mark(first ? 'netbeacon:model-fetched' : 'netbeacon:full-model-fetched');
      state.topology = topo.doc;
      state.detail = first ? 'overview' : 'full';
      state.model = buildMapModel(topo.doc);
      performance.mark('netbeacon:model-built');
      const r = await graph.apply(state.model);
      if (first) {
        if (state.view.sel) graph.select(state.view.sel);
        renderView(hasFilters(state.view) || state.view.q.trim() !== '');
        await frame();
        await frame();
        performance.mark('netbeacon:map-drawn');
        document.documentElement.dataset.drawn = 'true';
        resolveDrawn(performance.now());
      } else if (!upgraded) {
        state.updates++;
        renderView(false);
        document.documentElement.dataset.updates = String(state.updates);
        if (r.added + r.removed + r.moved > 0) byId('announce').textContent = `The map changed: ${r.added} added, ${r.removed} removed, ${r.moved} moved.`;
      }
      // The panel from the new model at once (the overview's "loading" gone), again below with the new hosts.
      if (!first) renderEvidence();
      // The hosts (MACs, addresses: the evidence panel and the search) after the first draw.
      state.hosts = (await api.get<HostsDocument>('/api/v1/hosts')).doc;
      fillLists(state.model);
      renderFindings();
      renderEvidence();
      const hist = await api.get<{ changes: HistoryEntry[] }>(`/api/v1/history?limit=${HISTORY_LIMIT}`);
      state.history = hist.doc.changes;
      renderHistory();
    }
    const t = state.topology!;
    status(`${t.hosts.total} hosts (${t.hosts.stale} stale) · ${t.fabrics.length} fabrics · ${t.findings.length} findings · model of ${t.generated_at}`);
    // The full topology (the hints, for the evidence panel) right after the first draw.
    if (first) await refresh();
  } catch (err) {
    state.error = (err as Error).message;
    if (err instanceof ApiError && err.status === 401) {
      byId('token-form').hidden = false;
      status('This fleet service needs its read token.', true);
    } else status(`Cannot reach the fleet service: ${state.error} (retrying)`, true);
  }
}

const frame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => r()));

async function poll(): Promise<void> {
  if (!document.hidden) await refresh();
  setTimeout(() => void poll(), POLL_MS);
}

function wire(): void {
  const filterInput = (id: string, field: 'host' | 'fabric' | 'vid'): void => {
    const input = byId<HTMLInputElement>(id);
    input.value = state.view[field].join(',');
    input.addEventListener('change', () => {
      const values = input.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      setView(parseView(formatView({ ...state.view, [field]: values })), true);
      renderView(true);
    });
  };
  filterInput('f-host', 'host');
  filterInput('f-fabric', 'fabric');
  filterInput('f-vid', 'vid');
  const q = byId<HTMLInputElement>('q');
  q.value = state.view.q;
  q.addEventListener('input', () => {
    setView({ ...state.view, q: q.value });
    renderView(false);
  });
  q.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') graph.fit(true);
  });
  byId('clear-filters').addEventListener('click', () => {
    for (const id of ['f-host', 'f-fabric', 'f-vid', 'q']) byId<HTMLInputElement>(id).value = '';
    setView({ ...state.view, host: [], fabric: [], vid: [], q: '' }, true);
    renderView(true);
  });
  byId('fit').addEventListener('click', () => graph.fit());
  const tab = (view: ViewState['view']): void => {
    setView({ ...state.view, view }, true);
    renderView(false);
    if (view === 'map') graph.cy.resize();
  };
  byId('tab-map').addEventListener('click', () => tab('map'));
  byId('tab-table').addEventListener('click', () => tab('table'));
  // An export holds the joins and the labels, also of a large map seen from afar (graph.ts, EDGES_ZOOM, LABEL_CLASS).
  byId('save-png').addEventListener('click', () => {
    graph.showAll();
    download(pngOf(graph.cy), 'fleet-map.png');
  });
  byId('save-svg').addEventListener('click', () => {
    graph.showAll();
    download(new Blob([svgOf(graph.cy)], { type: 'image/svg+xml' }), 'fleet-map.svg');
  });
  byId('copy-table').addEventListener('click', () => {
    if (!state.model) return;
    const text = tsvOf(state.model, state.view);
    navigator.clipboard.writeText(text).then(
      () => (byId('announce').textContent = 'The table is on the clipboard, tab-separated.'),
      () => {
        // No clipboard (an insecure origin): select the table for Ctrl-C instead.
        const range = document.createRange();
        range.selectNodeContents(byId('segment-table'));
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
        byId('announce').textContent = 'The table is selected: press Ctrl-C to copy it.';
      },
    );
  });
  byId('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId<HTMLInputElement>('token');
    setToken(input.value.trim());
    api.token = input.value.trim();
    input.value = '';
    byId('token-form').hidden = true;
    void refresh();
  });
  window.addEventListener('popstate', () => {
    state.view = parseView(location.search);
    for (const [id, field] of [
      ['f-host', 'host'],
      ['f-fabric', 'fabric'],
      ['f-vid', 'vid'],
    ] as const)
      byId<HTMLInputElement>(id).value = state.view[field].join(',');
    q.value = state.view.q;
    graph.select(state.view.sel);
    renderView(true);
    renderEvidence();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });
}

wire();
void poll();
