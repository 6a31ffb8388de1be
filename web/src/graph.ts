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
import cytoscape, { type Core, type ElementDefinition, type NodeSingular, type LayoutOptions } from 'cytoscape';
import fcose from 'cytoscape-fcose';
import { labelWidth, type MapModel } from './model';
import { packPositions, type PackNode } from './pack';
import { stylesheet } from './style';
import { segmentMatches, segmentPasses, type ViewState } from './view';

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

  constructor(container: HTMLElement, onSelect: (id: string | null) => void) {
    this.cy = cytoscape({
      container,
      style: stylesheet(false),
      selectionType: 'single',
      boxSelectionEnabled: false,
      minZoom: 0.02,
      maxZoom: 4,
    });
    this.cy.on('select', 'node, edge', (e) => onSelect((e.target as cytoscape.SingularElementArgument).id()));
    this.cy.on('tap', (e) => {
      if (e.target === this.cy) onSelect(null);
    });
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
    }
    const wanted = new Set<string>();
    const fresh: string[] = [];
    let moved = 0;
    let removed = 0;
    cy.batch(() => {
      for (const def of [...m.nodes, ...m.edges]) {
        wanted.add(def.data.id);
        const el = cy.getElementById(def.data.id);
        if (el.empty()) {
          const add: ElementDefinition = { group: def.group, data: { ...def.data }, classes: def.classes };
          cy.add(add);
          fresh.push(def.data.id);
          continue;
        }
        const parent = 'parent' in def.data ? def.data.parent : undefined;
        if (el.isNode() && (el.data('parent') as string | undefined) !== parent) {
          el.move({ parent: parent ?? null });
          moved++;
        }
        el.data({ ...def.data });
        // Keep the view's own classes (filters, search) across updates.
        const keep = ['hidden', 'faded', 'match'].filter((c) => el.hasClass(c));
        el.classes([def.classes, ...keep].join(' '));
      }
      const gone = cy.elements().filter((el) => !wanted.has(el.id()) && !el.hasClass('ghost'));
      removed = gone.length;
      // Edges and leaves first: removing a compound would take its children along.
      gone.edges().remove();
      gone
        .nodes()
        .filter((n) => n.isChildless())
        .remove();
      gone.nodes().remove();
    });
    if (!this.#drawn || fresh.length > 0 || moved > 0) await this.#layout(!this.#drawn, fresh);
    this.#drawn = true;
    return { added: fresh.length, removed, moved };
  }

  async #layout(first: boolean, fresh: readonly string[]): Promise<void> {
    const cy = this.cy;
    if (this.#large) {
      const nodes: PackNode[] = cy.nodes().map((n) => ({ id: n.id(), parent: n.data('parent') as string | undefined, w: n.outerWidth(), h: n.outerHeight() }));
      const pos = packPositions(nodes);
      // cytoscape calls `positions` with the node, whatever its typings say.
      const positions = ((n: NodeSingular) => pos.get(n.id()) ?? n.position()) as unknown as (id: string) => { x: number; y: number };
      await run(cy, { name: 'preset', positions, fit: first, padding: 30, animate: false });
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

  /** Hides what the filters leave out and marks what the search finds; returns the matches. */
  applyView(v: ViewState, extraOf: (segmentId: string) => readonly string[]): number {
    const cy = this.cy;
    let matches = 0;
    cy.batch(() => {
      const shown = new Set<string>();
      cy.nodes('.segment').forEach((n) => {
        const d = n.data() as { host: string; interface: string; fabric: string; vid: string };
        const pass = segmentPasses(d, v);
        n.toggleClass('hidden', !pass);
        const match = pass && segmentMatches(d, v.q, extraOf(n.id()));
        n.toggleClass('match', match);
        if (match) matches++;
        if (pass) for (const a of n.ancestors()) shown.add(a.id());
      });
      cy.nodes('.host, .fabric').forEach((n) => {
        n.toggleClass('hidden', !shown.has(n.id()));
      });
      cy.edges().forEach((e) => {
        e.toggleClass('hidden', e.source().hasClass('hidden') || e.target().hasClass('hidden'));
      });
      cy.elements().removeClass('faded');
      if (v.q.trim() !== '' && matches > 0) cy.nodes('.segment').not('.match').addClass('faded');
    });
    return matches;
  }

  /** Fits the visible elements (after a filter, on the Fit button), or the search's matches. */
  fit(onlyMatches = false): void {
    const target = onlyMatches && this.cy.nodes('.match').nonempty() ? this.cy.nodes('.match') : this.cy.elements().not('.hidden');
    this.cy.fit(target, 30);
  }

  select(id: string | null): void {
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
      data: { id: 'ghost', parent: fabricNodeId, label: `was here: ${label}`, w: labelWidth(`was here: ${label}`) },
      classes: 'ghost',
      position: { x: bb.x1 + 70, y: bb.y2 },
    });
  }

  clearWas(): void {
    this.cy.remove('.ghost');
    this.cy.nodes('.was-here').removeClass('was-here');
  }
}

function run(cy: Core, options: LayoutOptions): Promise<void> {
  return new Promise((resolve) => {
    const layout = cy.elements().not('.ghost').layout(options);
    layout.one('layoutstop', () => resolve());
    layout.run();
  });
}
