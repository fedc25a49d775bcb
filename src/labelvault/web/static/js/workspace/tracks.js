// Track actions of the workspace: the Track toggle's new tracks, keyframe/outside per frame, keyframe jumps, play, propagate.
import { h, modal, toast } from '../ui.js';
import { keyframeAt, nextKeyframe, withKeyframe, withSkeletonKeyframe, withoutKeyframe } from './interpolation.js';
import { snapshot } from './store.js';

/** A new track with its first keyframe on `frame` from a drawn shape state (as the Track toggle makes them). */
export function newTrack(shape) {
  const key = (s, type = s.type) => ({ frame: shape.frame, type, points: type === 'skeleton' ? [] : s.points, rotation: s.rotation || 0,
    outside: !!s.outside, occluded: !!s.occluded, z_order: s.z_order ?? 0, attributes: [], keyframe: true });
  return {
    kind: 'track', type: 'track', frame: shape.frame, label_id: shape.label_id, attributes: shape.attributes, group: shape.group ?? 0,
    source: shape.source || 'manual',
    // A skeleton track: one track of a point per skeleton point (CVAT's sub-tracks), keyed with the skeleton.
    elements: (shape.type === 'skeleton' ? shape.elements || [] : []).map((e) => ({
      frame: shape.frame, label_id: e.label_id, attributes: e.attributes || [], group: 0, source: shape.source || 'manual', shapes: [key(e, 'points')] })),
    shapes: [{ ...key(shape), outside: false }],
  };
}

/** `track` with a keyframe on `frame` holding `view` (its shown or edited state): a skeleton keys its points too. */
export function keyedAt(track, frame, view, patch = {}) {
  if (track.elements?.length) return withSkeletonKeyframe(track, frame, view.elements || [], patch);
  return withKeyframe(track, frame, patch);
}

/** `track` without its keyframe on `frame`, on the skeleton's points too. */
function unkeyedAt(track, frame) {
  const t = withoutKeyframe(track, frame);
  if (!t.elements?.length) return t;
  return { ...t, elements: t.elements.map((el) => withoutKeyframe(el, frame)) };
}

/**
 * ctx: {store, frame() (current), frames (the job's frames), goTo(frame), selected() (a view or shape)}.
 * Returns true when `name` was a track action it handled.
 */
export function trackAction(name, ctx) {
  const sel = ctx.selected();
  const track = sel?.track ? ctx.store.objects.get(sel.cid) : null;
  const frame = ctx.frame();
  switch (name) {
    case 'keyframe':
      if (!track) return true;
      if (keyframeAt(track, frame)) {
        if (track.shapes.length > 1) ctx.store.commit('Remove keyframe', [{ cid: track.cid, after: unkeyedAt(snapshot(track), frame) }]);
      } else ctx.store.commit('Keyframe', [{ cid: track.cid, after: keyedAt(snapshot(track), frame, sel, {}) }]);
      return true;
    case 'outside':
      if (track) ctx.store.commit(sel.outside ? 'Inside' : 'Outside', [{ cid: track.cid, after: withKeyframe(snapshot(track), frame, { outside: !sel.outside }) }]);
      return true;
    case 'next-keyframe': case 'prev-keyframe': {
      if (!track) return true;
      const f = nextKeyframe(track, frame, name === 'next-keyframe' ? 1 : -1);
      if (f != null) ctx.goTo(f).then(() => ctx.reselect(track.cid));
      return true;
    }
    default: return false;
  }
}

/** Ctrl+B: copy a shape to the next N frames; for a track, make its current state a keyframe on each. */
export function propagate(sel, ctx) {
  const input = h('input', { type: 'number', min: 1, value: 5, 'aria-label': 'Number of next frames' });
  const { close } = modal('Propagate object', h('div', { class: 'modal-body' },
    h('label', {}, sel.track ? 'Keyframes on the next ' : 'Copy to the next ', input, ' frames'),
    h('button', { type: 'button', class: 'primary', onclick: () => {
      const i = ctx.frames.indexOf(ctx.frame());
      const targets = ctx.frames.slice(i + 1, i + 1 + Math.max(1, Number(input.value) || 1));
      if (sel.track) {
        let t = snapshot(ctx.store.objects.get(sel.cid));
        const keep = { type: sel.type, points: sel.points, rotation: sel.rotation, occluded: sel.occluded, outside: false, z_order: sel.z_order };
        for (const f of targets) t = keyedAt(t, f, sel, keep);
        ctx.store.commit('Propagate', [{ cid: sel.cid, after: t }]);
      } else ctx.store.commit('Propagate', targets.map((f) => ({ after: { ...snapshot(sel), frame: f } })));
      toast(`${sel.track ? 'Keyframes on' : 'Copied to'} ${targets.length} frame(s)`, 'success');
      close();
    } }, 'Propagate')));
  input.focus();
}

/** Play/pause: step through frames, waiting for each image, at most `fps` frames a second. */
export class Player {
  constructor(ctx, fps = 10) { this.ctx = ctx; this.fps = fps; this.playing = false; this.paced = true; }

  toggle() { if (this.playing) this.stop(); else this.play(); }

  async play() {
    this.playing = true;
    this.ctx.onState?.(true);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    let due = performance.now();
    while (this.playing) {
      const i = this.ctx.frames.indexOf(this.ctx.frame());
      if (i >= this.ctx.frames.length - 1) break;
      const period = 1000 / this.fps;
      if (!this.paced) { await Promise.all([this.ctx.goTo(this.ctx.frames[i + 1]), sleep(period)]); continue; }
      // Frames fall due on a fixed schedule, so timer lateness and frame work do not add up frame after frame.
      due += period;
      await this.ctx.goTo(this.ctx.frames[i + 1]);
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      else if (wait < -period) due = performance.now(); // fell far behind (a slow image): do not rush to catch up
    }
    this.stop();
  }

  stop() { this.playing = false; this.ctx.onState?.(false); }
}
