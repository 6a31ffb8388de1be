/**
 * A deterministic layout for large maps: every compound node's children are
 * placed in rows (shelf packing), innermost first, so fabrics become boxes
 * of host boxes of segments. Linear in the number of nodes, where a force
 * layout grows much faster: the map switches to it above a size at which
 * fcose no longer draws in time (see layout.ts). It reads only the node
 * tree the model gives; DOM-free.
 */

export interface PackNode {
  readonly id: string;
  readonly parent?: string | undefined;
  /** Leaf size; compounds are sized by their children. */
  readonly w: number;
  readonly h: number;
}

export interface PackOptions {
  /** Space between siblings. */
  readonly gap: number;
  /** Space inside a compound's border. */
  readonly padding: number;
  /** Room for a compound's label above its children. */
  readonly label: number;
  /** Width ÷ height the rows aim at. */
  readonly aspect: number;
}

export const DEFAULT_PACK: PackOptions = { gap: 12, padding: 10, label: 18, aspect: 1.6 };

export interface Placed {
  /** The centre. */
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

interface Box {
  w: number;
  h: number;
  /** Every node in the box (itself too), centres relative to the box's top-left corner. */
  leaves: Array<{ id: string; x: number; y: number; w: number; h: number }>;
}

/** The centre and size of every node, compounds included. Children keep their order in `nodes`. */
export function packPositions(nodes: readonly PackNode[], o: PackOptions = DEFAULT_PACK): Map<string, Placed> {
  const children = new Map<string | undefined, PackNode[]>();
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) {
    const p = n.parent !== undefined && ids.has(n.parent) ? n.parent : undefined;
    const list = children.get(p);
    if (list) list.push(n);
    else children.set(p, [n]);
  }
  const box = (n: PackNode): Box => {
    const kids = children.get(n.id);
    if (!kids) return { w: n.w, h: n.h, leaves: [{ id: n.id, x: n.w / 2, y: n.h / 2, w: n.w, h: n.h }] };
    const inner = rows(kids.map(box), o);
    const w = inner.w + 2 * o.padding;
    const h = inner.h + 2 * o.padding + o.label;
    // The label sits inside the box's top edge, so a box without compound nodes can draw it.
    return { w, h, leaves: [{ id: n.id, x: w / 2, y: h / 2, w, h }, ...shift(inner.leaves, o.padding, o.padding + o.label)] };
  };
  const top = rows((children.get(undefined) ?? []).map(box), o);
  return new Map(top.leaves.map((l) => [l.id, { x: l.x, y: l.y, w: l.w, h: l.h }]));
}

/** Boxes in rows of about the width that makes the whole `aspect` wide. */
function rows(boxes: Box[], o: PackOptions): Box {
  if (boxes.length === 0) return { w: 0, h: 0, leaves: [] };
  const area = boxes.reduce((s, b) => s + (b.w + o.gap) * (b.h + o.gap), 0);
  const widest = Math.max(...boxes.map((b) => b.w));
  const target = Math.max(widest, Math.sqrt(area * o.aspect));
  const leaves: Box['leaves'] = [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  let w = 0;
  for (const b of boxes) {
    if (x > 0 && x + b.w > target) {
      y += rowH + o.gap;
      x = 0;
      rowH = 0;
    }
    for (const l of b.leaves) leaves.push({ ...l, x: l.x + x, y: l.y + y });
    x += b.w + o.gap;
    rowH = Math.max(rowH, b.h);
    w = Math.max(w, x - o.gap);
  }
  return { w, h: y + rowH, leaves };
}

function shift(leaves: Box['leaves'], dx: number, dy: number): Box['leaves'] {
  return leaves.map((l) => ({ ...l, x: l.x + dx, y: l.y + dy }));
}
