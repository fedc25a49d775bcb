// Merging (M) objects into one track, splitting a track at the current frame, and per-frame (mutable) attributes of tracks.
import { toast } from '../ui.js';
import { shapeAt, skeletonAt, trackedAt } from './interpolation.js';
import { attrsOut, snapshot } from './store.js';

/** A keyframe (wire form) from a shape or a track's view. */
function keyOf(o, frame = o.frame, extra = {}) {
  return { frame, type: o.type, points: o.points.slice(), rotation: o.rotation || 0, outside: false, occluded: !!o.occluded,
    z_order: o.z_order ?? 0, attributes: [], keyframe: true, ...extra };
}

/**
 * The track made of `objects` (shapes and tracks, in the order they were picked): every keyframe of each,
 * a later pick winning a frame; a shape shows on its frame only, so it is followed by an outside keyframe.
 */
export function mergedTrack(objects) {
  const keys = new Map();
  for (const o of objects) {
    if (o.kind === 'track') for (const k of o.shapes) keys.set(k.frame, structuredClone(k));
    else {
      keys.set(o.frame, keyOf(o));
      if (!keys.has(o.frame + 1)) keys.set(o.frame + 1, keyOf(o, o.frame + 1, { outside: true }));
    }
  }
  const shapes = [...keys.values()].sort((a, b) => a.frame - b.frame);
  // A trailing outside keyframe that only closed the last shape keeps its place: the track ends there.
  const first = objects[0];
  return { kind: 'track', type: 'track', frame: shapes[0].frame, label_id: first.label_id, attributes: structuredClone(first.attributes || {}),
    group: first.group ?? 0, source: first.source || 'manual', elements: [], shapes };
}

/** The two tracks a track becomes when split at `frame`: the first goes outside there, the second starts there. */
export function splitTrack(track, frame) {
  const skeleton = track.elements?.length > 0;
  const now = skeleton ? skeletonAt(track, frame) : shapeAt(track, frame);
  const before = track.shapes.filter((k) => k.frame < frame);
  if (!now || !before.length) return null;
  const first = { ...snapshot(track), shapes: [...structuredClone(before), { ...keyOf(now, frame), attributes: [], outside: true }] };
  const second = { ...snapshot(track), frame, shapes: [{ ...keyOf(now, frame), attributes: now.attributes || [] }, ...structuredClone(track.shapes.filter((k) => k.frame > frame))] };
  if (skeleton) {
    // Each point splits too: the first part's points go outside there, the second's start from where they are.
    first.elements = track.elements.map((el) => {
      const at = trackedAt(el.shapes, frame, true);
      const keys = structuredClone(el.shapes.filter((k) => k.frame < frame));
      if (at) keys.push({ ...keyOf(at, frame), attributes: [], outside: true });
      return { ...structuredClone(el), shapes: keys };
    }).filter((el) => el.shapes.length);
    second.elements = track.elements.map((el) => {
      const at = trackedAt(el.shapes, frame, true);
      const later = structuredClone(el.shapes.filter((k) => k.frame > frame));
      const keys = at ? [{ ...keyOf(at, frame, { outside: !!at.outside }), attributes: at.attributes || [] }, ...later] : later;
      return { ...structuredClone(el), frame: keys[0]?.frame ?? frame, shapes: keys };
    }).filter((el) => el.shapes.length);
  }
  return [first, second];
}

/** Split attributes into those of the whole track (immutable) and those of one frame (mutable): spec ids in `mutable`. */
export function splitAttributes(attributes, mutable) {
  const track = {}; const frame = {};
  for (const [k, v] of Object.entries(attributes || {})) (mutable.has(Number(k)) ? frame : track)[k] = v;
  return { track, frame };
}

/** A keyframe's attribute list with `changes` (spec id -> value) applied. */
export function keyframeAttributes(list, changes) {
  const map = new Map((list || []).map((a) => [Number(a.spec_id), a.value]));
  for (const a of attrsOut(changes)) map.set(a.spec_id, a.value);
  return [...map].map(([spec_id, value]) => ({ spec_id, value: String(value) }));
}

/** M: pick objects (click them, on any frames), M again merges them into one track. ctx: {store, view, selected(), select(cid)}. */
export class Merging {
  constructor(ctx) { this.ctx = ctx; this.active = false; this.members = []; }

  toggle() {
    const { view, store } = this.ctx;
    if (!this.active) {
      this.active = true;
      const sel = this.ctx.selected();
      this.members = sel && sel.kind !== 'tag' ? [sel.cid] : [];
      view.groupMembers = new Set(this.members);
      view.invalidate('overlay');
      toast('Click the shapes and tracks to merge (on any frames), then press M again.', 'info', 3000);
      return;
    }
    const cids = this.members;
    this.stop();
    if (cids.length < 2) return;
    const objects = cids.map((cid) => store.objects.get(cid)).filter(Boolean);
    if (new Set(objects.map((o) => o.label_id)).size > 1) { toast('Only objects of one label can be merged', 'error'); return; }
    if (objects.some((o) => o.type === 'skeleton' || o.elements?.length)) { toast('Skeletons are not merged into tracks here yet: draw a skeleton track instead', 'error', 3000); return; }
    const [cid] = store.commit('Merge', [{ after: mergedTrack(objects) }, ...cids.map((c) => ({ cid: c, after: null }))]);
    this.ctx.select(cid);
    toast(`Merged ${objects.length} objects into a track`, 'success', 1500);
  }

  click(cid) {
    const i = this.members.indexOf(cid);
    if (i >= 0) this.members.splice(i, 1); else this.members.push(cid);
    this.ctx.view.groupMembers = new Set(this.members);
    this.ctx.view.invalidate('overlay');
  }

  stop() { this.active = false; this.members = []; this.ctx.view.groupMembers = null; this.ctx.view.invalidate('overlay'); }
}
