// Pure geometry of CVAT shapes: bounding boxes, hit tests, rotation, resize, mask RLE (no DOM).
import { onCuboid } from './cuboid.js';

export const DEG = Math.PI / 180;

/** Rotate (x, y) around (cx, cy) by `deg` degrees (clockwise on screen, as CVAT's rotation). */
export function rotate(x, y, cx, cy, deg) {
  if (!deg) return [x, y];
  const a = deg * DEG;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const dx = x - cx;
  const dy = y - cy;
  return [cx + dx * c - dy * s, cy + dx * s + dy * c];
}

/** A rectangle's four corners in image space, honouring rotation around its centre. */
export function rectCorners(points, rotation = 0) {
  const [x1, y1, x2, y2] = points;
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]].map(([x, y]) => rotate(x, y, cx, cy, rotation));
}

/** CVAT ellipse points are [cx, cy, cx + rx, cy - ry]. */
export function ellipseParams(points) {
  const [cx, cy, px, py] = points;
  return { cx, cy, rx: Math.abs(px - cx), ry: Math.abs(cy - py) };
}

export function maskBox(points) {
  const n = points.length;
  return [points[n - 4], points[n - 3], points[n - 2] + 1, points[n - 1] + 1];
}

/** [minX, minY, maxX, maxY] of a shape in image coordinates. */
export function bbox(shape) {
  const p = shape.points;
  switch (shape.type) {
    case 'rectangle': {
      if (!shape.rotation) return [Math.min(p[0], p[2]), Math.min(p[1], p[3]), Math.max(p[0], p[2]), Math.max(p[1], p[3])];
      return boxOf(rectCorners(p, shape.rotation).flat());
    }
    case 'ellipse': {
      const { cx, cy, rx, ry } = ellipseParams(p);
      if (!shape.rotation) return [cx - rx, cy - ry, cx + rx, cy + ry];
      const a = shape.rotation * DEG;
      const hw = Math.sqrt((rx * Math.cos(a)) ** 2 + (ry * Math.sin(a)) ** 2);
      const hh = Math.sqrt((rx * Math.sin(a)) ** 2 + (ry * Math.cos(a)) ** 2);
      return [cx - hw, cy - hh, cx + hw, cy + hh];
    }
    case 'mask': return maskBox(p);
    case 'skeleton': return boxOf((shape.elements || []).flatMap((e) => e.points));
    default: return boxOf(p);
  }
}

export function boxOf(flat) {
  let x1 = Infinity; let y1 = Infinity; let x2 = -Infinity; let y2 = -Infinity;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const x = flat[i]; const y = flat[i + 1];
    if (x < x1) x1 = x; if (x > x2) x2 = x; if (y < y1) y1 = y; if (y > y2) y2 = y;
  }
  return x1 === Infinity ? [0, 0, 0, 0] : [x1, y1, x2, y2];
}

export function pointInPolygon(x, y, flat) {
  let inside = false;
  const n = flat.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = flat[2 * i]; const yi = flat[2 * i + 1]; const xj = flat[2 * j]; const yj = flat[2 * j + 1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function distToSegment(px, py, x1, y1, x2, y2) {
  const dx = x2 - x1; const dy = y2 - y1;
  const len = dx * dx + dy * dy;
  let t = len ? ((px - x1) * dx + (py - y1) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}

/** Index of the polyline/polygon edge nearest to (x, y) within tol, or -1. */
export function nearestEdge(flat, x, y, tol, closed) {
  const n = flat.length / 2;
  let best = -1; let bestD = tol;
  const last = closed ? n : n - 1;
  for (let i = 0; i < last; i++) {
    const j = (i + 1) % n;
    const d = distToSegment(x, y, flat[2 * i], flat[2 * i + 1], flat[2 * j], flat[2 * j + 1]);
    if (d <= bestD) { bestD = d; best = i; }
  }
  return best;
}

/** Index of the vertex within tol of (x, y), or -1. */
export function nearestVertex(flat, x, y, tol) {
  let best = -1; let bestD = tol;
  for (let i = 0; i < flat.length / 2; i++) {
    const d = Math.hypot(flat[2 * i] - x, flat[2 * i + 1] - y);
    if (d <= bestD) { bestD = d; best = i; }
  }
  return best;
}

/** Does the shape cover (x, y)? tol is in image pixels (for thin shapes and edges). */
export function hit(shape, x, y, tol = 3) {
  const p = shape.points;
  switch (shape.type) {
    case 'rectangle': {
      const cx = (p[0] + p[2]) / 2; const cy = (p[1] + p[3]) / 2;
      const [lx, ly] = rotate(x, y, cx, cy, -(shape.rotation || 0));
      return lx >= Math.min(p[0], p[2]) - tol && lx <= Math.max(p[0], p[2]) + tol && ly >= Math.min(p[1], p[3]) - tol && ly <= Math.max(p[1], p[3]) + tol;
    }
    case 'ellipse': {
      const { cx, cy, rx, ry } = ellipseParams(p);
      const [lx, ly] = rotate(x, y, cx, cy, -(shape.rotation || 0));
      return ((lx - cx) / (rx + tol)) ** 2 + ((ly - cy) / (ry + tol)) ** 2 <= 1;
    }
    case 'polygon': return pointInPolygon(x, y, p) || nearestEdge(p, x, y, tol, true) >= 0;
    case 'polyline': return nearestEdge(p, x, y, tol, false) >= 0;
    case 'points': return nearestVertex(p, x, y, tol + 3) >= 0;
    case 'skeleton': return (shape.elements || []).some((e) => !e.outside && nearestVertex(e.points, x, y, tol + 3) >= 0);
    case 'cuboid': return onCuboid(p, x, y, pointInPolygon) || nearestVertex(p, x, y, tol + 3) >= 0;
    case 'mask': {
      const b = maskBox(p);
      return x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3] && maskPixel(p, Math.floor(x), Math.floor(y));
    }
    default: return false;
  }
}

/** Area used to prefer the smaller of overlapping shapes when picking. */
export function area(shape) {
  const b = bbox(shape);
  return Math.max(1, (b[2] - b[0]) * (b[3] - b[1]));
}

/** Among shapes under the pointer pick the top one: higher z_order, then smaller, then newer. */
export function pick(candidates, x, y, tol) {
  let best = null;
  for (const s of candidates) {
    if (!hit(s, x, y, tol)) continue;
    if (!best || (s.z_order ?? 0) > (best.z_order ?? 0) || ((s.z_order ?? 0) === (best.z_order ?? 0) && area(s) <= area(best))) best = s;
  }
  return best;
}

export function translate(shape, dx, dy) {
  if (shape.type === 'mask') {
    const p = shape.points.slice();
    const n = p.length;
    p[n - 4] += dx; p[n - 3] += dy; p[n - 2] += dx; p[n - 1] += dy;
    return p.map((v, i) => (i >= n - 4 ? Math.round(v) : v));
  }
  return shape.points.map((v, i) => v + (i % 2 ? dy : dx));
}

/** A shape moved by (dx, dy): its points, and a skeleton's points too. */
export function moved(shape, dx, dy) {
  const out = { ...shape, points: translate(shape, dx, dy) };
  if (shape.type === 'skeleton') out.elements = (shape.elements || []).map((e) => ({ ...e, points: translate(e, dx, dy) }));
  return out;
}

/** Normalised rectangle points from two corners. */
export function rectFrom(x1, y1, x2, y2) {
  return [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)];
}

/**
 * Resize a (possibly rotated) box by dragging handle `h` ('n','ne','e','se','s','sw','w','nw') to (x, y):
 * edges move in the box's own frame, then the new centre is rotated back so the opposite edge stays put.
 */
export function resizeBox(points, rotation, handle, x, y) {
  const [x1, y1, x2, y2] = points;
  const cx = (x1 + x2) / 2; const cy = (y1 + y2) / 2;
  const [lx, ly] = rotate(x, y, cx, cy, -rotation);
  let [a, b, c, d] = [x1, y1, x2, y2];
  if (handle.includes('w')) a = lx;
  if (handle.includes('e')) c = lx;
  if (handle.includes('n')) b = ly;
  if (handle.includes('s')) d = ly;
  [a, b, c, d] = rectFrom(a, b, c, d);
  const [ncx, ncy] = rotate((a + c) / 2, (b + d) / 2, cx, cy, rotation);
  const hw = (c - a) / 2; const hh = (d - b) / 2;
  return [ncx - hw, ncy - hh, ncx + hw, ncy + hh];
}

/** Box handles in image space: [name, x, y] for the eight resize handles of a rotated box. */
export function boxHandles(points, rotation) {
  const [x1, y1, x2, y2] = points;
  const cx = (x1 + x2) / 2; const cy = (y1 + y2) / 2;
  const spots = { nw: [x1, y1], n: [cx, y1], ne: [x2, y1], e: [x2, cy], se: [x2, y2], s: [cx, y2], sw: [x1, y2], w: [x1, cy] };
  return Object.entries(spots).map(([k, [x, y]]) => [k, ...rotate(x, y, cx, cy, rotation)]);
}

/** Angle in degrees [0, 360) that points the box's top towards (x, y). */
export function rotationTowards(cx, cy, x, y) {
  const deg = Math.atan2(y - cy, x - cx) / DEG + 90;
  return ((deg % 360) + 360) % 360;
}

export const ellipseToBox = (p) => { const { cx, cy, rx, ry } = ellipseParams(p); return [cx - rx, cy - ry, cx + rx, cy + ry]; };
export const boxToEllipse = (b) => { const cx = (b[0] + b[2]) / 2; const cy = (b[1] + b[3]) / 2; return [cx, cy, b[2], b[1]]; };

// ---- masks: CVAT RLE over the inclusive bbox, runs alternate starting with background ----

export function maskPixel(points, x, y) {
  const n = points.length;
  const [l, t, r] = [points[n - 4], points[n - 3], points[n - 2]];
  const w = r - l + 1;
  const idx = (y - t) * w + (x - l);
  if (idx < 0) return false;
  let pos = 0;
  for (let i = 0; i < n - 4; i++) {
    pos += points[i];
    if (idx < pos) return i % 2 === 1;
  }
  return false;
}

/** RLE-encode an alpha bitmap (Uint8 of width*height) into CVAT mask points; null when empty. */
export function encodeMask(alpha, width, height, offsetX = 0, offsetY = 0) {
  let x1 = width; let y1 = height; let x2 = -1; let y2 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (alpha[y * width + x]) { if (x < x1) x1 = x; if (x > x2) x2 = x; if (y < y1) y1 = y; if (y > y2) y2 = y; }
    }
  }
  if (x2 < 0) return null;
  const runs = [];
  let cur = false; let run = 0;
  for (let y = y1; y <= y2; y++) {
    for (let x = x1; x <= x2; x++) {
      const v = !!alpha[y * width + x];
      if (v === cur) run++; else { runs.push(run); cur = v; run = 1; }
    }
  }
  runs.push(run);
  return [...runs, x1 + offsetX, y1 + offsetY, x2 + offsetX, y2 + offsetY];
}

/** Decode CVAT mask points into {x, y, w, h, alpha: Uint8Array}. */
export function decodeMask(points) {
  const n = points.length;
  const [l, t, r, b] = points.slice(n - 4).map(Math.round);
  const w = r - l + 1; const hgt = b - t + 1;
  const alpha = new Uint8Array(Math.max(0, w * hgt));
  let pos = 0;
  for (let i = 0; i < n - 4; i++) {
    const len = points[i];
    if (i % 2 === 1) alpha.fill(1, pos, Math.min(pos + len, alpha.length));
    pos += len;
  }
  return { x: l, y: t, w, h: hgt, alpha };
}
