// Annotation state of one job: objects by client id, per-frame index, what the server has confirmed, undo.
import { bbox } from './geometry.js';
import { shapeAt, skeletonAt, withKeyframe, withSkeletonKeyframe } from './interpolation.js';
import { GridIndex } from './spatial.js';
import { keyframeAttributes } from './track_edit.js';
import { UndoStack } from './undo.js';

let nextCid = 1;

const SHAPE_KEYS = ['type', 'frame', 'label_id', 'points', 'rotation', 'occluded', 'outside', 'z_order', 'attributes', 'group', 'source', 'elements', 'kind', 'shapes'];
const GEOMETRY = ['type', 'points', 'rotation', 'occluded', 'outside', 'z_order'];

/** Snapshot of the saved fields of an object (used as undo states and the save payload). */
export function snapshot(o) {
  const s = {};
  for (const k of SHAPE_KEYS) if (o[k] !== undefined) s[k] = structuredClone(o[k]);
  return s;
}

export class AnnotationStore extends EventTarget {
  constructor() {
    super();
    this.objects = new Map(); // cid -> object (shape or tag)
    this.byFrame = new Map(); // frame -> Set(cid)
    this.indexes = new Map(); // frame -> GridIndex (built lazily per frame)
    this.serverId = new Map(); // cid -> server id of an object that exists on the server
    this.base = new Map(); // cid -> the object as the server last confirmed it (absent: new here)
    this.dirty = new Map(); // cid -> revision of its last unconfirmed change
    this.refused = new Map(); // cid -> reason the server gave for refusing it (not re-sent until changed)
    this.version = 0; // the job's annotation version our base states belong to (sent as If-Match)
    this.rev = 0;
    this.tracks = new Set(); // cids of tracks: they are on many frames, shown through view()
    this.currentFrame = 0; // the frame get() shows tracks on (the workspace's current frame)
    this.undoStack = new UndoStack();
    this.ui = new Map(); // cid -> {hidden, locked}: view state that is never saved
    this.mutable = new Set(); // spec ids of mutable attributes: per frame on tracks (set by the workspace)
    this.zTop = new Map(); // frame -> highest z_order there (computed on demand, raised as shapes come)
  }

  /** Load CVAT LabeledData from the server: nothing is dirty afterwards. */
  load(data) {
    this.objects.clear(); this.byFrame.clear(); this.indexes.clear(); this.serverId.clear(); this.zTop.clear();
    this.base.clear(); this.dirty.clear(); this.refused.clear(); this.undoStack.clear(); this.tracks.clear();
    this.version = data.version ?? 0;
    for (const s of data.shapes || []) this.add(fromWire(s, 'shape'), s.id);
    for (const t of data.tags || []) this.add(fromWire(t, 'tag'), t.id);
    for (const t of data.tracks || []) this.add(fromWire(t, 'track'), t.id);
    this.emit('reset');
  }

  add(state, serverId) {
    const cid = nextCid++;
    const obj = { ...snapshot(state), cid };
    this.objects.set(cid, obj);
    if (serverId != null) { this.serverId.set(cid, serverId); this.base.set(cid, snapshot(state)); }
    if (obj.kind === 'track') { this.tracks.add(cid); this.indexes.clear(); return obj; }
    this.frameSet(obj.frame).add(cid);
    this.indexes.get(obj.frame)?.insert(cid, bbox(obj));
    return obj;
  }

  frameSet(frame) {
    let s = this.byFrame.get(frame);
    if (!s) { s = new Set(); this.byFrame.set(frame, s); }
    return s;
  }

  index(frame) {
    let idx = this.indexes.get(frame);
    if (!idx) {
      idx = new GridIndex(64);
      for (const cid of this.byFrame.get(frame) || []) {
        const o = this.objects.get(cid);
        if (o.kind === 'shape') idx.insert(cid, bbox(o));
      }
      for (const cid of this.tracks) { const v = this.view(cid, frame); if (v && !v.outside) idx.insert(cid, bbox(v)); }
      this.indexes.set(frame, idx);
    }
    return idx;
  }

  /** The object; a track as its shape on the current frame (see view()). */
  get(cid) { const o = this.objects.get(cid); return o?.kind === 'track' ? this.view(cid, this.currentFrame) : o; }

  /**
   * A track on `frame` as a shape the renderer, tools and panel handle like any other (cid and all,
   * `track: true`); outside (not drawn) where the track is not visible. Edits of it become keyframes.
   */
  view(cid, frame) {
    const t = this.objects.get(cid);
    if (!t) return undefined;
    const skeleton = t.elements?.length > 0;
    const s = skeleton ? skeletonAt(t, frame) : shapeAt(t, frame);
    const k = s || t.shapes.filter((x) => x.frame <= frame).at(-1) || t.shapes[0];
    // A skeleton's points as shape elements, so the renderer, tools and panel treat them as a skeleton shape's.
    const elements = skeleton && s ? s.elements.map((e) => ({ type: 'points', frame, label_id: e.label_id, points: e.points, outside: !!e.outside,
      occluded: !!e.occluded, z_order: 0, rotation: 0, group: 0, source: t.source, attributes: e.attributes || [] })) : [];
    return { kind: 'shape', track: true, keyframe: !!s?.keyframe, cid, frame, label_id: t.label_id, type: skeleton ? 'skeleton' : k.type, points: k.points,
      rotation: k.rotation || 0, occluded: !!k.occluded, outside: !s, z_order: k.z_order ?? 0,
      attributes: { ...t.attributes, ...attrsIn(k.attributes) }, group: t.group ?? 0, source: t.source, elements };
  }

  /** A track with an edited view of it applied: geometry into a keyframe on that frame, the rest to the track. */
  trackWith(track, view) {
    const shown = this.view(track.cid, view.frame);
    // Mutable attributes change from this frame on (a keyframe holds them); the others are the track's.
    const mine = (a) => Object.fromEntries(Object.entries(a || {}).filter(([k]) => !this.mutable.has(Number(k))));
    const perFrame = {};
    for (const [k, v] of Object.entries(view.attributes || {})) if (this.mutable.has(Number(k)) && String(shown.attributes[k] ?? '') !== String(v)) perFrame[k] = v;
    let next = { ...snapshot(track), label_id: view.label_id, attributes: mine(view.attributes), group: view.group ?? track.group };
    const moved = GEOMETRY.some((k) => JSON.stringify(view[k]) !== JSON.stringify(shown[k]));
    if (track.elements?.length) {
      // A skeleton edited on a frame: a keyframe there for it and for every one of its points (as CVAT keys them all).
      const pointsMoved = JSON.stringify(elementStates(view.elements)) !== JSON.stringify(elementStates(shown.elements));
      if (moved || pointsMoved || Object.keys(perFrame).length) {
        const own = (track.shapes || []).find((k) => k.frame === view.frame)?.attributes || [];
        next = withSkeletonKeyframe(next, view.frame, view.elements || [], { outside: !!view.outside, occluded: !!view.occluded,
          z_order: view.z_order ?? 0, attributes: keyframeAttributes(own, perFrame) });
      }
      return next;
    }
    if (moved || Object.keys(perFrame).length) {
      const patch = {};
      for (const k of GEOMETRY) patch[k] = structuredClone(view[k]);
      const own = (track.shapes || []).find((k) => k.frame === view.frame)?.attributes || [];
      next = withKeyframe(next, view.frame, { ...patch, attributes: keyframeAttributes(own, perFrame) });
    }
    return next;
  }

  cidOf(serverId) {
    for (const [cid, id] of this.serverId) if (id === serverId) return cid;
    return null;
  }

  onFrame(frame, kind = 'shape') {
    const out = [];
    for (const cid of this.byFrame.get(frame) || []) { const o = this.objects.get(cid); if (o.kind === kind) out.push(o); }
    if (kind === 'shape') for (const cid of this.tracks) { const v = this.view(cid, frame); if (!v.outside) out.push(v); }
    return out;
  }

  /** The highest z_order on a frame (a deleted shape may leave it higher than needed: harmless). */
  topZ(frame) {
    let z = this.zTop.get(frame);
    if (z == null) { z = this.onFrame(frame).reduce((m, o) => Math.max(m, o.z_order ?? 0), 0); this.zTop.set(frame, z); }
    return z;
  }

  /** The bounding box of an object as drawn on the current frame (null when it is not drawn there). */
  placeOf(cid) {
    const o = this.get(cid);
    return o && o.kind === 'shape' && o.frame === this.currentFrame && !o.outside ? bbox(o) : null;
  }

  uiOf(cid) { let u = this.ui.get(cid); if (!u) { u = { hidden: false, locked: false }; this.ui.set(cid, u); } return u; }

  /** Put an object into `state` (null deletes it) without recording undo. */
  apply(cid, state) {
    const old = this.objects.get(cid);
    const was = this.placeOf(cid);
    if (old?.kind === 'track') { this.tracks.delete(cid); this.objects.delete(cid); } else if (old) {
      this.byFrame.get(old.frame)?.delete(cid);
      this.indexes.get(old.frame)?.remove(cid);
      this.objects.delete(cid);
    }
    if (state?.kind === 'track') {
      this.objects.set(cid, { ...structuredClone(state), cid });
      this.tracks.add(cid);
    } else if (state) {
      const obj = { ...structuredClone(state), cid };
      this.objects.set(cid, obj);
      this.frameSet(obj.frame).add(cid);
      if (obj.kind === 'shape') this.indexes.get(obj.frame)?.insert(cid, bbox(obj));
    }
    if (state?.kind === 'shape' && this.zTop.has(state.frame)) this.zTop.set(state.frame, Math.max(this.zTop.get(state.frame), state.z_order ?? 0));
    if (old?.kind === 'track' || state?.kind === 'track') {
      this.zTop.clear();
      // A track is on many frames: move it in every frame index built so far.
      for (const [frame, idx] of this.indexes) {
        idx.remove(cid);
        const v = state?.kind === 'track' ? this.view(cid, frame) : null;
        if (v && !v.outside) idx.insert(cid, bbox(v));
      }
    }
    // Back to what the server has (undo to the saved state, a new object deleted again): nothing to send.
    const base = this.base.get(cid);
    if (base ? state && sameObject(base, state) : !state) this.dirty.delete(cid);
    else this.dirty.set(cid, ++this.rev);
    this.refused.delete(cid); // a changed object gets another chance
    // Where the object was and is now on the current frame: the renderer repaints only there.
    const now = this.placeOf(cid);
    this.emit('change', { cid, regions: [was, now].filter(Boolean) });
  }

  /** Apply several changes as one undoable step: changes = [{cid?, after}] (cid absent creates). */
  commit(label, changes) {
    const entry = { label, changes: [] };
    for (const ch of changes) {
      const cid = ch.cid ?? nextCid++;
      const now = this.objects.get(cid);
      const before = now ? snapshot(now) : null;
      // An edit of a track's view on one frame is a keyframe of the track.
      const after = ch.after ? snapshot(now?.kind === 'track' && ch.after.kind === 'shape' ? this.trackWith(now, ch.after) : ch.after) : null;
      entry.changes.push({ cid, before, after });
      this.apply(cid, after);
    }
    this.undoStack.push(entry);
    this.emit('commit', entry);
    return entry.changes.map((c) => c.cid);
  }

  update(cid, patch, label = 'Edit') {
    const o = this.get(cid);
    if (!o) return;
    this.commit(label, [{ cid, after: { ...snapshot(o), ...patch } }]);
  }

  undo() {
    const e = this.undoStack.undo();
    if (!e) return null;
    for (const c of [...e.changes].reverse()) this.apply(c.cid, c.before);
    this.emit('commit', e);
    return e;
  }

  redo() {
    const e = this.undoStack.redo();
    if (!e) return null;
    for (const c of e.changes) this.apply(c.cid, c.after);
    this.emit('commit', e);
    return e;
  }

  get hasUnsaved() { return this.dirty.size > 0; }

  /**
   * What the server has not confirmed yet, against `version`: per kind ('shapes', 'tags'), the objects
   * created here, updated here and deleted here. Each entry is {cid, id, rev, state, base, refused}:
   * `state` is ours (null when deleted), `base` the server's last confirmed one (null when new).
   */
  pendingChanges() {
    const out = { version: this.version, created: emptyKinds(), updated: emptyKinds(), deleted: emptyKinds() };
    for (const [cid, rev] of this.dirty) {
      const state = this.objects.has(cid) ? snapshot(this.objects.get(cid)) : null;
      const base = this.base.get(cid) ?? null;
      const id = this.serverId.get(cid) ?? null;
      const entry = { cid, id, rev, state, base, refused: this.refused.get(cid) ?? null };
      const kind = kindKey(state || base);
      if (id == null) { if (state) out.created[kind].push(entry); } else out[state ? 'updated' : 'deleted'][kind].push(entry);
    }
    return out;
  }

  /**
   * The server stored `sent` (a pendingChanges() result, or part of one): mark it saved. `reply` is the
   * server's answer: its version, and for creates the new objects in the order they were sent.
   */
  confirm(sent, reply) {
    if (typeof reply?.version === 'number') this.version = reply.version;
    for (const kind of KINDS) {
      const ids = (reply?.[kind] || []).map((x) => x.id);
      (sent.created?.[kind] || []).forEach((e, i) => {
        if (ids[i] == null) return;
        this.serverId.set(e.cid, ids[i]);
        this.settle(e, e.state);
      });
      for (const e of sent.updated?.[kind] || []) this.settle(e, e.state);
      for (const e of sent.deleted?.[kind] || []) {
        this.base.delete(e.cid);
        if (this.serverId.get(e.cid) === e.id) this.serverId.delete(e.cid);
        // Deleted on the server; if it came back here meanwhile (undo), it is a new object to send.
        if (this.objects.has(e.cid)) this.dirty.set(e.cid, ++this.rev); else this.settle(e, null);
      }
    }
    this.emit('confirm');
  }

  settle(entry, state) {
    if (state) this.base.set(entry.cid, state);
    const now = this.objects.get(entry.cid);
    // Compared by content, not revision: an undo during the save can go back to the old base.
    if (state ? now && sameObject(now, state) : !now) this.dirty.delete(entry.cid);
    else if (!this.dirty.has(entry.cid)) this.dirty.set(entry.cid, ++this.rev);
  }

  /** The server refused these objects (cid -> reason): keep them here, marked, out of later saves. */
  refuse(reasons) {
    for (const [cid, reason] of reasons) this.refused.set(cid, reason);
    this.emit('refused', { cids: [...reasons.keys()] });
  }

  /** Give up a refused change: back to the server's state (or gone, when the server never had it). */
  drop(cid) {
    this.commit('Drop refused change', [{ cid, after: this.base.get(cid) ?? null }]);
  }

  /**
   * Take the server's annotations as the new base and re-apply local changes on top:
   * actions = [{id, state, refused?}] (id null: a new object; state null: delete that id).
   */
  reloadWith(data, actions) {
    this.load(data);
    const refused = new Map();
    for (const a of actions) {
      const found = a.id != null ? this.cidOf(a.id) : null;
      if (found == null && !a.state) continue; // deleting what the server no longer has
      const cid = found ?? nextCid++;
      this.apply(cid, a.state);
      if (a.refused) refused.set(cid, a.refused);
    }
    if (refused.size) this.refuse(refused);
    this.emit('reset');
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}

const elementStates = (els) => (els || []).map((e) => [e.label_id, e.points, !!e.outside, !!e.occluded]);

const KINDS = ['shapes', 'tags', 'tracks'];
const emptyKinds = () => ({ shapes: [], tags: [], tracks: [] });
export const kindKey = (o) => (o?.kind === 'tag' ? 'tags' : o?.kind === 'track' ? 'tracks' : 'shapes');

/** Every entry of a pendingChanges() result with its operation and kind. */
export function* changeEntries(changes) {
  for (const op of ['created', 'updated', 'deleted']) for (const kind of KINDS) for (const e of changes[op]?.[kind] || []) yield { op, kind, ...e };
}

/** A server (wire) object as a store state. */
export function fromWire(o, kind) {
  if (kind === 'track') {
    const keys = (list) => (list || []).map(({ id, ...k }) => ({ ...k, attributes: k.attributes || [] })).sort((a, b) => a.frame - b.frame); // eslint-disable-line no-unused-vars
    // A skeleton track's points are tracks of their own (CVAT's sub-tracks), kept in wire form.
    const elements = (o.elements || []).map(({ id, ...e }) => ({ ...e, attributes: e.attributes || [], shapes: keys(e.shapes) })); // eslint-disable-line no-unused-vars
    return { ...o, kind: 'track', type: 'track', attributes: attrsIn(o.attributes), shapes: keys(o.shapes), elements };
  }
  return kind === 'tag' ? { ...o, kind: 'tag', type: 'tag', attributes: attrsIn(o.attributes) } : { ...o, kind: 'shape', attributes: attrsIn(o.attributes) };
}

/** Whether two states say the same thing to the server (what toWire sends, ids aside). */
export function sameObject(a, b) { return canonical(a) === canonical(b); }

export function canonical(o) {
  const w = toWire(o);
  w.attributes.sort((x, y) => x.spec_id - y.spec_id);
  if (w.elements) w.elements = w.elements.map(({ id, ...e }) => e); // eslint-disable-line no-unused-vars
  return JSON.stringify(w);
}

export function attrsIn(list) {
  const out = {};
  for (const a of list || []) out[a.spec_id] = a.value;
  return out;
}

export function attrsOut(map) {
  return Object.entries(map || {}).map(([spec_id, value]) => ({ spec_id: Number(spec_id), value: String(value) }));
}

/** The CVAT wire object for a stored object (with its server id when known). */
export function toWire(o, id) {
  const base = { frame: o.frame, label_id: o.label_id, group: o.group ?? 0, source: o.source || 'manual', attributes: attrsOut(o.attributes) };
  if (id != null) base.id = id;
  if (o.kind === 'tag') return base;
  if (o.kind === 'track') {
    // CVAT's track wire format; keyframes only (the frames between are computed, never stored).
    const keys = (list) => [...(list || [])].sort((a, b) => a.frame - b.frame).map((k) => ({
      frame: k.frame, type: k.type, points: k.points, outside: !!k.outside, occluded: !!k.occluded, keyframe: true,
      rotation: ((k.rotation || 0) % 360 + 360) % 360, z_order: k.z_order ?? 0,
      attributes: (k.attributes || []).map((a) => ({ spec_id: Number(a.spec_id), value: String(a.value) })).sort((a, b) => a.spec_id - b.spec_id),
    }));
    const shapes = keys(o.shapes);
    const elements = (o.elements || []).map((e) => {
      const ks = keys(e.shapes);
      return { frame: ks[0]?.frame ?? e.frame, label_id: e.label_id, group: e.group ?? 0, source: e.source || o.source || 'manual',
        attributes: (e.attributes || []).map((a) => ({ spec_id: Number(a.spec_id), value: String(a.value) })), shapes: ks };
    });
    return { ...base, frame: shapes[0]?.frame ?? o.frame, shapes, elements };
  }
  return {
    ...base, type: o.type, points: o.points, occluded: !!o.occluded, outside: !!o.outside,
    z_order: o.z_order ?? 0, rotation: ((o.rotation || 0) % 360 + 360) % 360,
    elements: (o.elements || []).map((e) => ({ ...e, attributes: e.attributes || [] })),
  };
}
