/**
 * The drawing: one cytoscape.js instance over the map model. A new model is
 * applied as a diff (elements added, moved, updated, removed by id), so a
 * live update keeps the user's zoom, pan and selection; only new elements
 * are laid out from their neighbours' positions.
 *
 * Layouts: fcose (compound force-directed: fabrics and hosts as groups,
 * short joins) up to FCOSE_MAX_NODES nodes; above that the linear shelf
 * packing of pack.ts, since fcose's time grows too fast for a first draw
 * in under 3 s (bench: `npm run bench -- --only fleet-map`).
 */
import cytoscape, { type Core, type ElementDefinition, type LayoutOptions } from 'cytoscape';
import fcose from 'cytoscape-fcose';
import { fabricId, hostId, labelWidth, type EdgeData, type ElementDef, type MapModel } from './model';
import { packPositions, type PackNode } from './pack';
import { EDGES_ZOOM, LABEL_CLASS, labelsReadable, stylesheet } from './style';
import { hasFilters, segmentMatches, segmentPasses, type ViewState } from './view';

cytoscape.use(fcose);

export const FCOSE_MAX_NODES = 600;

export interface ApplyResult {
  readonly added: number;
  readonly removed: number;
  readonly moved: number;
}

export class FleetGraph {
  readonly cy: Core;
  #large = false;
  #drawn = false;
  /** Whether a filter or a search has touched the elements' classes. */
  #viewed = false;
  /** A large map's joins not yet in the graph library (EDGES_ZOOM), or null once they are. */
  #pending: Map<string, ElementDef<EdgeData>> | null = null;
  /** A large map's fabrics whose nodes have their labels (LABEL_CLASS), or null: all of them. */
  #labelled: Set<string> | null = null;
  /** A large map's nodes without their labels yet, by fabric (empty once all are labelled). */
  #unlabelled = new Map<string, string[]>();

  constructor(container: HTMLElement, onSelect: (id: string | null) => void) {
    this.cy = cytoscape({
      container,
      style: stylesheet(false),
      selectionType: 'single',
      boxSelectionEnabled: false,
      minZoom: 0.02,
      maxZoom: 4,
      // Large maps: pan and zoom draw a cached texture without edges, as cytoscape.js advises.
      hideEdgesOnViewport: true,
      textureOnViewport: true,
    });
    this.cy.on('select', 'node, edge', (e) => onSelect((e.target as cytoscape.SingularElementArgument).id()));
    this.cy.on('tap', (e) => {
      if (e.target === this.cy) onSelect(null);
    });
    // Zoomed in far enough: the held-back joins of the fabrics in view (the rest as they come into view).
    // And the labels of the fabrics in view, once the renderer would draw them (style.ts, LABEL_CLASS).
    this.cy.on('viewport', () => this.#showInView());
  }

  /** The zoom from which a large map draws its joins (for the bench). */
  get edgesZoom(): number {
    return EDGES_ZOOM;
  }

  /** Whether every join is in the graph library (always, but on a large map before the user zooms in). */
  get edgesShown(): boolean {
    return this.#pending === null;
  }

  /** Adds all of a large map's held-back joins (a selected join, an export). */
  showEdges(): void {
    this.#addHeld(() => true);
  }

  /** Gives every node of a large map its label, and adds every join: what an export saves. */
  showAll(): void {
    this.showEdges();
    this.#label(() => true);
  }

  /**
   * What a large map holds back and the view now shows: the joins from
   * EDGES_ZOOM and the labels where readable, of the fabrics whose boxes
   * meet the view: a few hundred at a time, where adding all twelve
   * thousand joins of a large fleet at once would stall the first zoom
   * for seconds.
   */
  #showInView(): void {
    const cy = this.cy;
    const edges = this.#pending !== null && cy.zoom() >= EDGES_ZOOM;
    const labels = this.#unlabelled.size > 0 && labelsReadable(cy.zoom(), window.devicePixelRatio || 1);
    if (!edges && !labels) return;
    const inView = this.#fabricInView();
    if (edges) this.#addHeld((def) => inView(def.data.fabric));
    if (labels) this.#label(inView);
  }

  /** Labels the nodes of the fabrics that `take` picks. */
  #label(take: (fabric: string) => boolean): void {
    const picked: string[] = [];
    for (const [fabric, ids] of this.#unlabelled)
      if (take(fabric)) {
        this.#labelled?.add(fabric);
        this.#unlabelled.delete(fabric);
        picked.push(...ids);
      }
    if (picked.length === 0) return;
    const cy = this.cy;
    cy.batch(() => {
      for (const id of picked) cy.getElementById(id).addClass(LABEL_CLASS);
    });
    performance.mark('netbeacon:labels-added');
  }

  /** Whether a fabric's box meets the view (memoized for one view). */
  #fabricInView(): (fabric: string) => boolean {
    const cy = this.cy;
    const ext = cy.extent();
    const inView = new Map<string, boolean>();
    return (fabric) => {
      let seen = inView.get(fabric);
      if (seen === undefined) {
        const n = cy.getElementById(fabricId(fabric));
        const p = n.position();
        const w = (n.data('w') as number | undefined) ?? 0;
        const h = (n.data('h') as number | undefined) ?? 0;
        seen = n.empty() || (p.x + w / 2 >= ext.x1 && p.x - w / 2 <= ext.x2 && p.y + h / 2 >= ext.y1 && p.y - h / 2 <= ext.y2);
        inView.set(fabric, seen);
      }
      return seen;
    };
  }

  /** Adds the held-back joins that `take` picks, hidden where the view hides an end. */
  #addHeld(take: (def: ElementDef<EdgeData>) => boolean): void {
    const pending = this.#pending;
    if (!pending) return;
    const picked: ElementDefinition[] = [];
    for (const [id, def] of pending)
      if (take(def)) {
        // A copy: the graph library keeps and changes the data object it is given, and the model's stays the model's.
        picked.push({ group: 'edges', data: { ...def.data }, classes: def.classes });
        pending.delete(id);
      }
    if (pending.size === 0) this.#pending = null;
    if (picked.length === 0) return;
    const cy = this.cy;
    cy.batch(() => {
      cy.add(picked).forEach((e) => {
        if (e.source().hasClass('hidden') || e.target().hasClass('hidden')) e.addClass('hidden');
      });
    });
    performance.mark('netbeacon:edges-added');
  }

  get large(): boolean {
    return this.#large;
  }

  /** Puts the model on the map. The first call lays everything out and fits it; later ones keep the view. */
  async apply(m: MapModel): Promise<ApplyResult> {
    const cy = this.cy;
    const large = m.nodes.length > FCOSE_MAX_NODES;
    if (large !== this.#large) {
      this.#large = large;
      cy.style(stylesheet(large));
      // A map grown large keeps its labels: it has them already, and the user may be looking at them.
      this.#labelled = large && !this.#drawn ? new Set() : null;
    }
    if (!this.#drawn) {
      if (large) this.#firstLarge(m);
      else {
        // The first draw adds everything in one call: per-element adds cost far more at thousands.
        cy.add([...m.nodes, ...m.edges].map((d): ElementDefinition => ({ group: d.group, data: this.#data(d.data), classes: d.classes })));
        performance.mark('netbeacon:elements-added');
        await this.#layout(true, []);
      }
      performance.mark('netbeacon:layout-done');
      this.#drawn = true;
      return { added: m.nodes.length + m.edges.length, removed: 0, moved: 0 };
    }
    const wanted = new Set<string>();
    const fresh: string[] = [];
    let moved = 0;
    let removed = 0;
    // Joins still held back (a large map not yet seen up close) stay held, as the new model has them.
    const held = this.#pending;
    const stillHeld = held ? new Map<string, ElementDef<EdgeData>>() : null;
    // The nodes still without labels, as the new model has them.
    this.#unlabelled = new Map();
    cy.batch(() => {
      for (const def of [...m.nodes, ...m.edges]) {
        wanted.add(def.data.id);
        const el = cy.getElementById(def.data.id);
        if (held && stillHeld && def.group === 'edges' && el.empty()) {
          if (!held.has(def.data.id)) fresh.push(def.data.id);
          stillHeld.set(def.data.id, def as ElementDef<EdgeData>);
          continue;
        }
        const data = this.#data(def.data);
        const label = def.group === 'nodes' && this.#labelOf(def.data.fabric, def.data.id);
        if (el.empty()) {
          const add: ElementDefinition = { group: def.group, data, classes: label ? `${def.classes} ${LABEL_CLASS}` : def.classes };
          cy.add(add);
          fresh.push(def.data.id);
          continue;
        }
        const parent = data.parent as string | undefined;
        if (el.isNode() && !large && (el.data('parent') as string | undefined) !== parent) {
          el.move({ parent: parent ?? null });
          moved++;
        }
        if (large && el.data('owner') !== data.owner) moved++;
        // Only what changed: setting data or classes restyles the element, at thousands a second's work.
        if (!sameData(el.data() as Record<string, unknown>, data)) el.data(data);
        // Keep the view's own classes (filters, search) across updates.
        const keep = ['hidden', 'faded', 'match'].filter((c) => el.hasClass(c));
        const classes = [def.classes, ...keep, ...(label ? [LABEL_CLASS] : [])].join(' ');
        if (!sameClasses(el.classes(), classes)) el.classes(classes);
      }
      const gone = cy.elements().filter((el) => !wanted.has(el.id()) && !el.hasClass('ghost'));
      removed += gone.length;
      // Edges and leaves first: removing a compound would take its children along.
      gone.edges().remove();
      gone
        .nodes()
        .filter((n) => n.isChildless())
        .remove();
      gone.nodes().remove();
    });
    if (held && stillHeld) {
      for (const id of held.keys()) if (!stillHeld.has(id)) removed++;
      this.#pending = stillHeld.size > 0 ? stillHeld : null;
    }
    if (fresh.length > 0 || moved > 0) await this.#layout(false, fresh);
    this.#showInView();
    return { added: fresh.length, removed, moved };
  }

  /**
   * A large map's first draw: the packing runs on the model, before the
   * graph library sees an element, so that every node is added once with
   * its position and size, in one batch. Placing and sizing them after the
   * add would mark each one's style and bounds dirty a second time.
   */
  #firstLarge(m: MapModel): void {
    const cy = this.cy;
    const pos = packPositions(m.nodes.map((n) => ({ id: n.data.id, parent: n.data.parent, w: n.data.w ?? 40, h: 18 })));
    performance.mark('netbeacon:pack-computed');
    const els: ElementDefinition[] = [];
    for (const n of m.nodes) {
      const p = pos.get(n.data.id);
      const data = this.#data(n.data);
      if (p && n.data.kind !== 'segment') Object.assign(data, { w: p.w, h: p.h });
      els.push({ group: 'nodes', data, classes: n.classes, ...(p ? { position: { x: p.x, y: p.y } } : {}) });
    }
    this.#pending = new Map(m.edges.map((e) => [e.data.id, e]));
    this.#unlabelled = new Map();
    for (const n of m.nodes) this.#labelOf(n.data.fabric, n.data.id);
    cy.batch(() => cy.add(els));
    performance.mark('netbeacon:elements-added');
    this.#fitPlaced(pos.values());
  }

  /** Whether a large map's node of `fabric` has LABEL_CLASS (a small map's never need it); when not yet, notes it among the unlabelled. */
  #labelOf(fabric: string, id: string): boolean {
    if (!this.#large) return false;
    if (this.#labelled === null || this.#labelled.has(fabric)) return true;
    push(this.#unlabelled, fabric, id);
    return false;
  }

  /**
   * A large map has no compound nodes: cytoscape.js recomputes a compound's
   * bounds from its children whenever it draws, which at thousands of nodes
   * is most of the time of a first draw. Fabrics and hosts become plain
   * boxes behind their segments, sized and placed by the shelf packing; the
   * would-be parent is kept as `owner`.
   */
  #data(d: MapModel['nodes'][number]['data'] | MapModel['edges'][number]['data']): Record<string, unknown> {
    if (!this.#large || !('parent' in d)) return { ...d };
    const { parent, ...rest } = d;
    return { ...rest, owner: parent };
  }

  async #layout(first: boolean, fresh: readonly string[]): Promise<void> {
    const cy = this.cy;
    if (this.#large) {
      const nodes: PackNode[] = cy
        .nodes()
        .filter((n) => !n.hasClass('ghost'))
        .map((n) => ({ id: n.id(), parent: n.data('owner') as string | undefined, w: (n.data('w') as number | undefined) ?? 40, h: 18 }));
      const pos = packPositions(nodes);
      performance.mark('netbeacon:pack-computed');
      cy.batch(() => {
        cy.nodes().forEach((n) => {
          const p = pos.get(n.id());
          if (!p) return;
          n.position({ x: p.x, y: p.y });
          if (!n.hasClass('segment')) n.data({ w: p.w, h: p.h });
        });
      });
      performance.mark('netbeacon:pack-placed');
      if (first) this.#fitPlaced(pos.values());
      return;
    }
    if (!first) {
      // New nodes start beside a neighbour or a sibling, so the incremental layout moves little.
      for (const id of fresh) {
        const n = cy.getElementById(id);
        if (!n.isNode() || !n.isChildless()) continue;
        const near = n.neighborhood('node').filter((x) => !fresh.includes(x.id()));
        const sib = n.siblings().filter((x) => !fresh.includes(x.id()));
        const ref = (near.nonempty() ? near : sib).nodes().first();
        if (ref.nonempty()) n.position({ x: ref.position('x') + 30, y: ref.position('y') + 30 });
      }
    }
    await run(cy, {
      name: 'fcose',
      quality: first ? 'default' : 'proof',
      randomize: first,
      animate: false,
      fit: first,
      padding: 30,
      nodeDimensionsIncludeLabels: true,
      packComponents: false,
      idealEdgeLength: 70,
      nodeRepulsion: 6000,
      tilingPaddingVertical: 20,
      tilingPaddingHorizontal: 20,
    } as unknown as LayoutOptions);
  }

  /** Fits boxes whose extents are known, without asking the graph library for bounds. */
  #fitPlaced(placed: Iterable<{ x: number; y: number; w: number; h: number }>): void {
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -Infinity;
    let y2 = -Infinity;
    for (const p of placed) {
      x1 = Math.min(x1, p.x - p.w / 2);
      x2 = Math.max(x2, p.x + p.w / 2);
      y1 = Math.min(y1, p.y - p.h / 2);
      y2 = Math.max(y2, p.y + p.h / 2);
    }
    if (!Number.isFinite(x1)) return;
    const pad = 30;
    const cy = this.cy;
    const zoom = Math.min(cy.maxZoom(), Math.max(cy.minZoom(), Math.min((cy.width() - 2 * pad) / (x2 - x1), (cy.height() - 2 * pad) / (y2 - y1))));
    cy.viewport({ zoom, pan: { x: cy.width() / 2 - zoom * ((x1 + x2) / 2), y: cy.height() / 2 - zoom * ((y1 + y2) / 2) } });
  }

  /** Hides what the filters leave out and marks what the search finds; returns the matches. */
  applyView(v: ViewState, extraOf: (segmentId: string) => readonly string[]): number {
    const cy = this.cy;
    let matches = 0;
    const idle = !hasFilters(v) && v.q.trim() === '';
    // Nothing to hide or mark, and nothing hidden or marked: leave the elements alone (a large first draw).
    if (idle && !this.#viewed) return 0;
    this.#viewed = !idle;
    cy.batch(() => {
      const shown = new Set<string>();
      cy.nodes('.segment').forEach((n) => {
        const d = n.data() as { host: string; interface: string; fabric: string; vid: string };
        const pass = segmentPasses(d, v);
        n.toggleClass('hidden', !pass);
        const match = pass && segmentMatches(d, v.q, extraOf(n.id()));
        n.toggleClass('match', match);
        if (match) matches++;
        if (pass) shown.add(hostId(d.fabric, d.host)).add(fabricId(d.fabric));
      });
      cy.nodes('.host, .fabric').forEach((n) => {
        n.toggleClass('hidden', !shown.has(n.id()));
      });
      cy.edges().forEach((e) => {
        e.toggleClass('hidden', e.source().hasClass('hidden') || e.target().hasClass('hidden'));
      });
      cy.elements().removeClass('faded');
      if (v.q.trim() !== '' && matches > 0)
        cy.nodes('.segment')
          .filter((n) => !n.hasClass('match'))
          .addClass('faded');
    });
    return matches;
  }

  /** Fits the visible elements (after a filter, on the Fit button), or the search's matches. */
  fit(onlyMatches = false): void {
    const target = onlyMatches && this.cy.nodes('.match').nonempty() ? this.cy.nodes('.match') : this.cy.elements().filter((e) => !e.hasClass('hidden'));
    this.cy.fit(target, 30);
  }

  select(id: string | null): void {
    if (id !== null && this.#pending?.has(id)) this.showEdges();
    this.cy.elements(':selected').unselect();
    if (id !== null) this.cy.getElementById(id).select();
  }

  /** Marks where a segment was before a change: its old fabric, and a ghost of it inside. */
  showWas(fabricNodeId: string | null, label: string): void {
    this.clearWas();
    if (fabricNodeId === null) return;
    const f = this.cy.getElementById(fabricNodeId);
    if (f.empty()) return;
    f.addClass('was-here');
    const bb = f.boundingBox({});
    this.cy.add({
      group: 'nodes',
      data: { id: 'ghost', ...(this.#large ? {} : { parent: fabricNodeId }), label: `was here: ${label}`, w: labelWidth(`was here: ${label}`) },
      classes: 'ghost',
      position: { x: bb.x1 + 70, y: bb.y2 },
    });
  }

  clearWas(): void {
    this.cy.remove('.ghost');
    this.cy.nodes('.was-here').removeClass('was-here');
  }
}

/** Whether an element's data already has every value of `next` (the keys the graph library adds aside). */
function sameData(cur: Record<string, unknown>, next: Record<string, unknown>): boolean {
  for (const k of Object.keys(next)) if (cur[k] !== next[k]) return false;
  return true;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function sameClasses(cur: readonly string[], next: string): boolean {
  const want = next.split(' ').filter(Boolean);
  return want.length === cur.length && want.every((c) => cur.includes(c));
}

function run(cy: Core, options: LayoutOptions): Promise<void> {
  return new Promise((resolve) => {
    const layout = cy
      .elements()
      .filter((e) => !e.hasClass('ghost'))
      .layout(options);
    layout.one('layoutstop', () => resolve());
    layout.run();
  });
}
