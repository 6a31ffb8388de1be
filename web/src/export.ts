/**
 * Saving the map: PNG from the graph library's own renderer, and SVG
 * written here from the laid-out elements (boxes, lines, labels in the
 * map's colours), so it opens in a browser or an editor and scales. Only
 * what the filters show is saved. Both download from memory (a blob URL):
 * nothing is sent anywhere.
 */
import type { Core, EdgeSingular, NodeSingular } from 'cytoscape';
import { FONT } from './style';

export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function pngOf(cy: Core): Blob {
  return cy.png({ output: 'blob', full: true, scale: 2, bg: '#ffffff', maxWidth: 16000, maxHeight: 16000 });
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number): string => String(Math.round(n * 10) / 10);

function dash(style: string, width: number): string {
  if (style === 'dashed') return ` stroke-dasharray="${num(width * 4)} ${num(width * 3)}"`;
  if (style === 'dotted') return ` stroke-dasharray="${num(width)} ${num(width * 2)}"`;
  return '';
}

function nodeSvg(n: NodeSingular): string {
  const bb = n.boundingBox({ includeLabels: false, includeOverlays: false });
  const compound = n.isParent();
  const fill = String(n.style('background-color'));
  const opacity = Number(n.style('background-opacity'));
  const bw = parseFloat(String(n.style('border-width'))) || 0;
  const stroke = bw > 0 ? ` stroke="${esc(String(n.style('border-color')))}" stroke-width="${num(bw)}"${dash(String(n.style('border-style')), bw)}` : '';
  const label = String(n.data('label') ?? '');
  const rect = `<rect x="${num(bb.x1)}" y="${num(bb.y1)}" width="${num(bb.w)}" height="${num(bb.h)}" rx="6" fill="${esc(fill)}" fill-opacity="${num(opacity)}"${stroke}/>`;
  const size = parseFloat(String(n.style('font-size'))) || 10;
  const color = esc(String(n.style('color')));
  const text = compound
    ? `<text x="${num(bb.x1 + bb.w / 2)}" y="${num(bb.y1 - 4)}" font-size="${num(size)}" text-anchor="middle" fill="${color}">${esc(label)}</text>`
    : `<text x="${num(bb.x1 + bb.w / 2)}" y="${num(bb.y1 + bb.h / 2 + size * 0.35)}" font-size="${num(size)}" text-anchor="middle" fill="${color}">${esc(label)}</text>`;
  return rect + text;
}

function edgeSvg(e: EdgeSingular): string {
  const s = e.sourceEndpoint();
  const t = e.targetEndpoint();
  const w = parseFloat(String(e.style('width'))) || 1;
  return `<line x1="${num(s.x)}" y1="${num(s.y)}" x2="${num(t.x)}" y2="${num(t.y)}" stroke="${esc(String(e.style('line-color')))}" stroke-width="${num(w)}" stroke-opacity="${num(Number(e.style('opacity')))}"${dash(String(e.style('line-style')), w)}/>`;
}

export function svgOf(cy: Core): string {
  const shown = cy.elements().filter((e) => !e.hasClass('hidden'));
  const bb = shown.boundingBox({});
  const pad = 20;
  const parts: string[] = [];
  // Back to front: fabrics, hosts, joins, segments.
  for (const sel of ['node.fabric', 'node.host']) shown.filter(sel).forEach((n) => void parts.push(nodeSvg(n)));
  shown.edges().forEach((e) => void parts.push(edgeSvg(e)));
  shown.filter('node.segment, node.ghost').forEach((n) => void parts.push(nodeSvg(n)));
  const w = bb.w + 2 * pad;
  const h = bb.h + 2 * pad;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(w)}" height="${num(h)}" viewBox="${num(bb.x1 - pad)} ${num(bb.y1 - pad)} ${num(w)} ${num(h)}" font-family="${esc(FONT)}">`,
    `<rect x="${num(bb.x1 - pad)}" y="${num(bb.y1 - pad)}" width="${num(w)}" height="${num(h)}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
