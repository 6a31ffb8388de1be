/**
 * How the map looks: fabrics are tinted boxes, hosts white cards inside
 * them, segments small tags (tagged ones in another shape and colour),
 * joins lines styled by their evidence. Findings draw in red (native-VLAN
 * mismatch), orange (duplicate MAC) and purple (unknown MAC); stale hosts
 * are greyed and dashed. The SVG export (export.ts) reads the same colours.
 */
import type { Css, StylesheetJson } from 'cytoscape';

export const COLORS = {
  fabricFill: ['#e8f1fb', '#eaf6ec', '#fbf1e6', '#f3ecfa', '#e9f6f6', '#fbeef2'],
  fabricBorder: '#7a8ca3',
  host: '#ffffff',
  hostBorder: '#8d99a6',
  segment: '#2f6fb3',
  tagged: '#2a8a5b',
  text: '#1b2733',
  edge: { interface: '#9aa5b1', local: '#6b7c8f', remote: '#2f6fb3', peer: '#7d4fb0' },
  mismatch: '#c62828',
  duplicate: '#e67e00',
  unknown: '#7d4fb0',
  stale: '#9e9e9e',
  selected: '#f2b400',
  disagrees: '#c62828',
} as const;

export const FONT = 'DejaVu Sans, Verdana, sans-serif';

/**
 * A large map adds its joins to the graph library once the user zooms in
 * this far, those of the fabrics in view (all of them when a join is
 * selected or the map exported): where segment labels become readable
 * (the min-zoomed-font-size below) and lines can be told apart.
 * At the overview they are a smear inside each fabric box, which already
 * says what they prove, while two thirds of the elements: the graph
 * library styles every element it holds before its first frame, hidden or
 * not, so holding them back is what makes the first draw fast.
 */
export const EDGES_ZOOM = 0.5;

/** A large map's labels are not drawn below this size on screen (the graph library's min-zoomed-font-size). */
export const MIN_ZOOMED_FONT = 8;
/** The largest label font of a large map: a fabric's (boxRules). */
const MAX_LABEL_FONT = 13;

/**
 * The class that gives a large map's node its label. The graph library
 * applies and checks every style property of every element before its
 * first frame, and half of a segment's and a host's properties are its
 * label's, which the overview never draws (below MIN_ZOOMED_FONT): so a
 * large map's nodes get their labels only where the view could draw them,
 * the fabrics in view once labelsReadable (graph.ts).
 */
export const LABEL_CLASS = 'lbl';

/**
 * Whether a label could be drawn at this zoom: the graph library compares
 * the font size at the zoom rounded up to a power of two (its texture
 * levels, eleTextBiggerThanMin) with the min-zoomed-font-size.
 */
export function labelsReadable(zoom: number, pixelRatio: number): boolean {
  return MAX_LABEL_FONT * 2 ** Math.ceil(Math.log2(zoom * pixelRatio)) >= MIN_ZOOMED_FONT;
}

export function fabricColor(i: number): string {
  return COLORS.fabricFill[i % COLORS.fabricFill.length]!;
}

/**
 * Large maps draw fabrics and hosts as plain boxes (graph.ts says why),
 * sized by the packing, their labels inside their top edge, stacked under
 * the joins and the segments. The graph library applies each property of
 * each element one by one before the first frame, each marking the
 * element's bounds and style caches dirty and firing an event: at six
 * thousand nodes every property a rule sets costs, so these rules set only
 * what differs from the library's defaults (no padding: no compounds; the
 * segments keep the default z-order, nodes above edges, while the boxes
 * and the joins compare z-index among all elements, below them: the boxes
 * at the default z-index, in the order they were added, a fabric before
 * its hosts, and the joins above them). The
 * labels of every node of a large map, the segments' too, are rules of
 * LABEL_CLASS, which graph.ts gives only to the nodes in view.
 */
function boxRules(): StylesheetJson {
  const box = (fill: string, border: string, width: number): Css.Node => ({
    shape: 'round-rectangle',
    'background-color': fill,
    'border-color': border,
    'border-width': width,
    width: 'data(w)',
    height: 'data(h)',
    'z-index-compare': 'manual',
  });
  const label = (fontSize: number, marginY: number): Css.Node => ({ 'font-size': fontSize, 'text-valign': 'top', 'text-margin-y': marginY });
  return [
    { selector: 'node.fabric', style: box('data(fill)', COLORS.fabricBorder, 1.5) },
    { selector: 'node.host', style: box(COLORS.host, COLORS.hostBorder, 1) },
    // The labels, of the fabrics in view once they can be read (LABEL_CLASS, labelsReadable).
    { selector: `node.${LABEL_CLASS}`, style: { label: 'data(label)', 'font-family': FONT, color: COLORS.text, 'min-zoomed-font-size': MIN_ZOOMED_FONT } },
    { selector: `node.fabric.${LABEL_CLASS}`, style: { ...label(MAX_LABEL_FONT, 16), 'font-weight': 'bold' } },
    { selector: `node.host.${LABEL_CLASS}`, style: label(11, 14) },
    { selector: `node.segment.${LABEL_CLASS}`, style: { color: '#ffffff', 'font-size': 10, 'text-valign': 'center' } },
  ];
}

/** Small maps: fabrics and hosts are compound nodes, sized by the graph library around their children. */
function compoundRules(): StylesheetJson {
  return [
    {
      selector: 'node.fabric',
      style: {
        shape: 'round-rectangle',
        'background-color': 'data(fill)',
        'border-color': COLORS.fabricBorder,
        'border-width': 1.5,
        label: 'data(label)',
        'font-size': 13,
        'font-weight': 'bold',
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        padding: '14px',
      },
    },
    {
      selector: 'node.host',
      style: {
        shape: 'round-rectangle',
        'background-color': COLORS.host,
        'border-color': COLORS.hostBorder,
        'border-width': 1,
        label: 'data(label)',
        'font-size': 11,
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -2,
        padding: '8px',
      },
    },
  ];
}

/** `haystack` edges (straight, drawn in one batch) for large maps: bezier edges cost per edge. */
export function stylesheet(large: boolean): StylesheetJson {
  return [
    ...(large ? boxRules() : [{ selector: 'node', style: { 'font-family': FONT, color: COLORS.text } }, ...compoundRules()]),
    { selector: 'node.host.stale', style: { 'border-style': 'dashed', 'border-color': COLORS.stale, color: COLORS.stale, 'background-opacity': 0.6 } },
    {
      selector: 'node.segment',
      style: {
        width: 'data(w)',
        height: 18,
        ...(large ? {} : { color: '#ffffff', label: 'data(label)', 'font-size': 10, 'text-valign': 'center' }),
      },
    },
    // Each segment's shape and colour set once (not a default overridden for half of them: each property costs, boxRules).
    { selector: 'node.segment[vid = "untagged"]', style: { shape: 'round-rectangle', 'background-color': COLORS.segment } },
    { selector: 'node.segment.tagged', style: { shape: 'cut-rectangle', 'background-color': COLORS.tagged } },
    { selector: 'node.segment.stale', style: { 'background-color': COLORS.stale } },
    { selector: 'node.segment.p-disagrees', style: { 'outline-width': 2, 'outline-color': COLORS.disagrees, 'outline-style': 'dotted', 'outline-offset': 2 } },
    { selector: 'node.segment.f-unknown_mac', style: { 'border-width': 3, 'border-color': COLORS.unknown, 'border-style': 'double' } },
    { selector: 'node.segment.f-duplicate_mac', style: { 'border-width': 3, 'border-color': COLORS.duplicate } },
    { selector: 'node.segment.f-native_vlan_mismatch', style: { 'border-width': 3, 'border-color': COLORS.mismatch } },
    {
      selector: 'edge',
      style: {
        'curve-style': large ? 'haystack' : 'bezier',
        width: 1.5,
        'line-color': COLORS.edge.remote,
        opacity: 0.8,
        ...(large ? { 'z-index-compare': 'manual', 'z-index': 1 } : {}),
      },
    },
    { selector: 'edge.k-interface', style: { 'line-color': COLORS.edge.interface, width: 2 } },
    { selector: 'edge.k-local', style: { 'line-color': COLORS.edge.local, 'line-style': large ? 'solid' : 'dotted', width: 2 } },
    { selector: 'edge.k-peer', style: { 'line-color': COLORS.edge.peer, 'line-style': large ? 'solid' : 'dashed' } },
    { selector: 'edge.f-native_vlan_mismatch', style: { 'line-color': COLORS.mismatch, width: 3.5, opacity: 1 } },
    { selector: 'node.match', style: { 'outline-width': 4, 'outline-color': COLORS.selected, 'outline-opacity': 0.8 } },
    { selector: 'node.was-here', style: { 'border-width': 3, 'border-style': 'dashed', 'border-color': COLORS.selected } },
    {
      selector: 'node.ghost',
      style: {
        shape: 'round-rectangle',
        width: 'data(w)',
        height: 18,
        label: 'data(label)',
        'font-size': 10,
        'text-valign': 'center',
        'text-halign': 'center',
        'font-family': FONT,
        'background-opacity': 0,
        'border-width': 2,
        'border-style': 'dashed',
        'border-color': COLORS.selected,
        color: COLORS.text,
      },
    },
    { selector: '.faded', style: { opacity: 0.2 } },
    { selector: '.hidden', style: { display: 'none' } },
    { selector: 'node:selected', style: { 'border-width': 4, 'border-color': COLORS.selected, 'border-style': 'solid' } },
    { selector: 'edge:selected', style: { 'line-color': COLORS.selected, width: 5, opacity: 1 } },
  ];
}
