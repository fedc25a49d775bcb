// Track interpolation between keyframes with CVAT's rules, so the workspace shows what CVAT (and exports) show.
//
// Rules (CVAT's TrackManager.get_interpolated_shapes): rectangles, ellipses, cuboids and skeletons move their
// points linearly and turn by the shorter way round; a single point moves linearly, several points hold the
// earlier keyframe; polygons and polylines match points by their relative position along the outline, move
// each matched pair linearly and then drop points that crowd together. Nothing is drawn after an outside
// keyframe until the next keyframe; after the last keyframe the shape stays as it is. Attributes a keyframe
// does not set are carried over from the keyframes before it. Skeletons interpolate each element as a track of
// one point (see skeletonAt). CVAT has no mask tracks (its server refuses to interpolate them): the workspace
// draws masks as shapes only, and a mask track from elsewhere holds each keyframe until the next one, as the exporter does.

const mod = (a, n) => ((a % n) + n) % n;

/** The turn from `from` to `to` in degrees, the short way; CVAT answers 1 for exactly -180. */
export function angleDiff(to, from) {
  const d = mod(to - from + 180, 360) - 180;
  return d <= -180 ? 1 : d;
}

const lerp = (a, b, t) => a.map((x, i) => x + (b[i] - x) * t);

function linear(k0, k1, t) {
  const rotation = mod((k0.rotation || 0) + angleDiff(k1.rotation || 0, k0.rotation || 0) * t + 360, 360);
  return { points: lerp(k0.points, k1.points, t), rotation };
}

const pairs = (flat) => { const out = []; for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]); return out; };
// sqrt of the sum of squares as CVAT computes it (Math.hypot can differ in the last bit, and thinning compares).
const dist = (a, b) => Math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2);
function length(pts) { let s = 0; for (let i = 1; i < pts.length; i++) s += dist(pts[i], pts[i - 1]); return s; }
function offsets(pts) {
  const total = length(pts);
  const out = [0];
  let s = 0;
  for (let i = 1; i < pts.length; i++) { s += dist(pts[i], pts[i - 1]); out.push(s / total); }
  return out;
}
function nearest(value, list) {
  let best = 0;
  for (let i = 1; i < list.length; i++) if (Math.abs(value - list[i]) < Math.abs(value - list[best])) best = i;
  return best;
}

/** For each left point, the right points it moves to (every right point is someone's). */
function matching(left, right) {
  const lo = offsets(left);
  const ro = offsets(right);
  const match = lo.map((v) => [nearest(v, ro)]);
  const taken = new Set(match.flat());
  for (let r = 0; r < right.length; r++) if (!taken.has(r)) match[nearest(ro[r], lo)].push(r);
  for (const m of match) m.sort((a, b) => a - b);
  return match;
}

/** Thin a run of interpolated points: keep those at least base/(2N) from the last kept one. */
function thin(points, baseLength, n, from, to) {
  const threshold = baseLength / (2 * n);
  const kept = [points[from]];
  let last = from;
  for (let i = from + 1; i < to; i++) if (dist(points[last], points[i]) >= threshold) { kept.push(points[i]); last = i; }
  kept.push(points[to]);
  if (kept.length === 2 && dist(points[from], points[to]) < threshold) return [[(kept[0][0] + kept[1][0]) / 2, (kept[0][1] + kept[1][1]) / 2]];
  return kept;
}

function polyPosition(leftFlat, rightFlat, t) {
  const left = pairs(leftFlat);
  const right = pairs(rightFlat);
  const match = matching(left, right);
  const moved = [];
  const firstIndex = [];
  match.forEach((rs, li) => {
    firstIndex.push(moved.length);
    for (const ri of rs) moved.push([left[li][0] + (right[ri][0] - left[li][0]) * t, left[li][1] + (right[ri][1] - left[li][1]) * t]);
  });
  const out = [];
  // A run of left points that all go to one right point is thinned along the left outline ...
  const leftRun = (a, b) => {
    if (firstIndex[a] === firstIndex[b]) { out.push(moved[firstIndex[a]]); return; }
    out.push(...thin(moved, length(left.slice(a, b + 1)), b - a + 1, firstIndex[a], firstIndex[b]));
  };
  // ... and one left point split over several right points along the right outline.
  const rightRun = (li) => {
    const rs = match[li];
    const from = firstIndex[li];
    out.push(...thin(moved, length(right.slice(rs[0], rs.at(-1) + 1)), rs.at(-1) - rs[0] + 1, from, from + rs.length - 1));
  };
  let open = null;
  for (let i = 0; i < left.length; i++) {
    if (match[i].length === 1) {
      if (open == null) open = i;
      else if (match[i][0] !== match[open][0]) { leftRun(open, i - 1); open = i; }
    } else {
      if (open != null) { leftRun(open, i - 1); open = null; }
      rightRun(i);
    }
  }
  if (open != null) leftRun(open, left.length - 1);
  return out.flat();
}

function poly(k0, k1, t) {
  if (k0.type !== 'polygon') return { points: polyPosition(k0.points, k1.points, t), rotation: k0.rotation || 0 };
  // Polygons are closed for the computation (first point repeated at the end), then opened again.
  const close = (p) => [...p, p[0], p[1]];
  return { points: polyPosition(close(k0.points), close(k1.points), t).slice(0, -2), rotation: k0.rotation || 0 };
}

/** Geometry ({points, rotation}) between keyframes k0 and k1 at fraction t, as CVAT computes it. */
export function between(k0, k1, t) {
  if (k0.type !== k1.type) return { points: k0.points.slice(), rotation: k0.rotation || 0 };
  switch (k0.type) {
    case 'rectangle': case 'ellipse': case 'cuboid': case 'skeleton': return linear(k0, k1, t);
    case 'points': return k0.points.length === 2 && k1.points.length === 2 ? linear(k0, k1, t) : { points: k0.points.slice(), rotation: k0.rotation || 0 };
    case 'polygon': case 'polyline': return poly(k0, k1, t);
    default: return { points: k0.points.slice(), rotation: k0.rotation || 0 }; // masks hold
  }
}

const byFrame = (track) => [...(track.shapes || [])].sort((a, b) => a.frame - b.frame);

function carryAttributes(keys, upTo) {
  const attrs = new Map();
  for (const k of keys) {
    if (k.frame > upTo) break;
    for (const a of k.attributes || []) attrs.set(a.spec_id, a.value);
  }
  return [...attrs].map(([spec_id, value]) => ({ spec_id, value }));
}

/**
 * The tracked shape on `frame` as CVAT lists it (the exporter's tracked_at): keyframes as they are (outside
 * ones too), null before the first keyframe and, unless `includeOutside`, after an outside keyframe; with
 * `includeOutside` (CVAT's rule for skeleton elements) the outside state carries on, moving toward the next keyframe.
 */
export function trackedAt(keys, frame, includeOutside = false) {
  keys = [...(keys || [])].sort((a, b) => a.frame - b.frame);
  let i = -1;
  while (i + 1 < keys.length && keys[i + 1].frame <= frame) i++;
  if (i < 0) return null;
  const k0 = keys[i];
  const attributes = carryAttributes(keys, frame);
  if (k0.frame === frame) return { ...structuredClone(k0), rotation: k0.rotation || 0, outside: !!k0.outside, attributes, keyframe: true };
  if (k0.outside && !includeOutside) return null;
  const k1 = keys[i + 1];
  const geometry = k1 ? between(k0, k1, (frame - k0.frame) / (k1.frame - k0.frame)) : { points: k0.points.slice(), rotation: k0.rotation || 0 };
  return { ...structuredClone(k0), ...geometry, frame, attributes, keyframe: false, outside: !!k0.outside };
}

/**
 * The track's shape on `frame` (wire form: {frame, type, points, rotation, outside, occluded, keyframe,
 * z_order, attributes}), or null when the track has not started, or is outside there.
 */
export function shapeAt(track, frame) {
  const s = trackedAt(track.shapes, frame);
  return s && !s.outside ? s : null;
}

/**
 * A skeleton track's shape on `frame` with its `elements` (the exporter's track_shape_at): the skeleton shows
 * where its own keyframes say so; each element is a track of one point interpolated on its own, its outside
 * state carrying on; an element not started yet is outside there; hidden when every element is outside.
 */
export function skeletonAt(track, frame) {
  const s = shapeAt(track, frame);
  if (!s || frame < (track.frame ?? 0)) return null;
  const elements = [];
  for (const el of track.elements || []) {
    const keys = el.shapes || [];
    let e = trackedAt(keys, frame, true);
    if (!e) {
      if (!keys.length) continue;
      e = { ...structuredClone(byFrame(el)[0]), outside: true, keyframe: false };
    }
    elements.push({ ...e, type: 'points', frame, label_id: el.label_id });
  }
  if (elements.length && elements.every((e) => e.outside)) return null;
  return { ...s, type: 'skeleton', points: [], elements };
}

/** A skeleton track with keyframes on `frame` for the skeleton and for each element, from `elements` (as shown, edited). */
export function withSkeletonKeyframe(track, frame, elements, patch = {}) {
  const next = withKeyframe(track, frame, { type: 'skeleton', points: [], ...patch });
  next.elements = (track.elements || []).map((el) => {
    const e = elements.find((x) => x.label_id === el.label_id);
    if (!e) return el;
    const key = { frame, type: 'points', points: e.points.slice(), rotation: 0, outside: !!e.outside, occluded: !!e.occluded,
      z_order: e.z_order ?? 0, attributes: e.attributes || [], keyframe: true };
    const shapes = (el.shapes || []).filter((k) => k.frame !== frame).concat([key]).sort((a, b) => a.frame - b.frame);
    return { ...el, shapes, frame: shapes[0].frame };
  });
  return next;
}

/** Every visible shape of the track on frames [start, stop), keyframes included (as CVAT's exporter lists them). */
export function interpolatedShapes(track, start, stop) {
  const out = [];
  for (let f = start; f < stop; f++) {
    const s = shapeAt(track, f);
    if (s) out.push(s);
  }
  return out;
}

/** The keyframe at `frame`, or null. */
export const keyframeAt = (track, frame) => (track.shapes || []).find((k) => k.frame === frame) || null;

/** Track `track` with a keyframe at `frame` set to `patch` over what is shown there now (a new keyframe if needed). */
export function withKeyframe(track, frame, patch) {
  const now = keyframeAt(track, frame) || shapeAt(track, frame) || { ...byFrame(track).filter((k) => k.frame <= frame).at(-1) };
  const key = { frame, type: now.type, points: now.points, rotation: now.rotation || 0, outside: !!now.outside, occluded: !!now.occluded,
    z_order: now.z_order ?? 0, attributes: now.attributes || [], keyframe: true, ...patch };
  const shapes = (track.shapes || []).filter((k) => k.frame !== frame).concat([key]).sort((a, b) => a.frame - b.frame);
  return { ...track, shapes, frame: shapes[0].frame };
}

/** Track without its keyframe at `frame` (the first one stays: a track needs one). */
export function withoutKeyframe(track, frame) {
  const shapes = (track.shapes || []).filter((k) => k.frame !== frame);
  return shapes.length ? { ...track, shapes, frame: shapes[0].frame } : track;
}

/** The nearest keyframe after (dir 1) or before (dir -1) `frame`, or null. */
export function nextKeyframe(track, frame, dir) {
  const frames = byFrame(track).map((k) => k.frame);
  return dir > 0 ? frames.find((f) => f > frame) ?? null : frames.reverse().find((f) => f < frame) ?? null;
}
