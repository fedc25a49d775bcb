// CVAT's 2D cuboid: 8 points (front-left, front-right, dorsal-right, dorsal-left edges, each top then bottom), its edges, faces, orientation.

// Vertical edges fl, fr, dr, dl and the top / bottom edges, as CVAT's CuboidModel numbers them.
export const EDGES = [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [0, 6], [2, 4], [6, 4], [1, 3], [1, 7], [3, 5], [7, 5]];
export const FACES = { front: [0, 1, 3, 2], right: [2, 3, 5, 4], dorsal: [4, 5, 7, 6], left: [6, 7, 1, 0], top: [0, 2, 4, 6], bottom: [1, 3, 5, 7] };

/**
 * The cuboid CVAT draws from a rectangle (its front face): the back face 10% of the size up and to the
 * right; the same 16 numbers as cvat-canvas's cuboidFrom4Points for that drag, its 0.1 nudges included.
 */
export function cuboidFromBox([xtl, ytl, xbr, ybr]) {
  const dx = (xbr - xtl) * 0.1; const dy = (ybr - ytl) * 0.1;
  return [xtl, ytl + 0.1, xtl, ybr, xbr, ytl, xbr, ybr,
    xbr + dx, ytl - dy + 0.1, xbr + dx, ybr - dy - 0.1, xtl + dx, ytl - dy + 0.1, xtl + dx, ybr - dy - 0.1];
}

/** "left" when the dorsal-left edge is right of the front-left one (CVAT's rule), else "right". */
export function orientation(p) { return p[12] > p[0] ? 'left' : 'right'; }

/** The back face mirrored to the other side of the front face (the other orientation). */
export function switchOrientation(p) {
  const q = p.slice();
  // dorsal-right (4, 5) pairs with front-right (2, 3), dorsal-left (6, 7) with front-left (0, 1)
  for (const [b, f] of [[4, 2], [5, 3], [6, 0], [7, 1]]) q[2 * b] = p[2 * f] - (p[2 * b] - p[2 * f]);
  return q;
}

/** Move vertex `i` to (x, y); its vertical edge stays vertical (the other end follows in x), as in CVAT. */
export function moveVertex(p, i, x, y) {
  const q = p.slice();
  q[2 * i] = x; q[2 * i + 1] = y;
  q[2 * (i ^ 1)] = x;
  return q;
}

/** Whether (x, y) is on the cuboid: inside any of its faces. */
export function onCuboid(p, x, y, inPolygon) {
  return Object.values(FACES).some((f) => inPolygon(x, y, f.flatMap((i) => [p[2 * i], p[2 * i + 1]])));
}
