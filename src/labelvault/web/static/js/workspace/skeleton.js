// Skeletons from a label's template (CVAT's SVG: circles per point, lines between them): placing one, its edges.

/** {points: [{labelId, x, y}], edges: [[labelIdA, labelIdB]]} from a skeleton label's svg and sublabels. */
export function parseTemplate(label) {
  const doc = new DOMParser().parseFromString(`<svg xmlns="http://www.w3.org/2000/svg">${label.svg || ''}</svg>`, 'image/svg+xml');
  const subs = label.sublabels || [];
  const byNode = new Map();
  const points = [];
  for (const c of doc.querySelectorAll('circle')) {
    const id = Number(c.getAttribute('data-label-id'));
    const sub = subs.find((s) => s.id === id) || subs.find((s) => s.name === c.getAttribute('data-label-name'));
    if (!sub) continue;
    byNode.set(c.getAttribute('data-node-id'), sub.id);
    points.push({ labelId: sub.id, x: Number(c.getAttribute('cx')) || 0, y: Number(c.getAttribute('cy')) || 0 });
  }
  // Points the drawing does not place (an svg from elsewhere) go on a row, so none is lost.
  subs.forEach((s, i) => { if (!points.some((p) => p.labelId === s.id)) points.push({ labelId: s.id, x: 10 + 80 * (i / Math.max(1, subs.length - 1)), y: 50 }); });
  const edges = [];
  for (const l of doc.querySelectorAll('line')) {
    const a = byNode.get(l.getAttribute('data-node-from')); const b = byNode.get(l.getAttribute('data-node-to'));
    if (a != null && b != null) edges.push([a, b]);
  }
  return { points, edges };
}

/** Skeleton elements (wire form, points) of `template` fitted into `box` [x1, y1, x2, y2] on `frame`. */
export function placeSkeleton(template, box, frame) {
  const xs = template.points.map((p) => p.x); const ys = template.points.map((p) => p.y);
  const x0 = Math.min(...xs); const y0 = Math.min(...ys);
  const w = Math.max(...xs) - x0 || 1; const hgt = Math.max(...ys) - y0 || 1;
  return template.points.map((p) => ({
    type: 'points', frame, label_id: p.labelId, outside: false, occluded: false, z_order: 0, rotation: 0, group: 0, source: 'manual', attributes: [],
    points: [box[0] + ((p.x - x0) / w) * (box[2] - box[0]), box[1] + ((p.y - y0) / hgt) * (box[3] - box[1])],
  }));
}

/** Edges of a skeleton shape as pairs of indexes into its elements (by their point labels). */
export function edgeIndexes(template, elements) {
  const at = new Map(elements.map((e, i) => [e.label_id, i]));
  return template.edges.map(([a, b]) => [at.get(a), at.get(b)]).filter(([i, j]) => i != null && j != null);
}
