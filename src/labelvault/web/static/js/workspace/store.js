// Annotation state of one job: objects by client id, per-frame spatial index, dirty set, undo.
import { bbox } from './geometry.js';
import { GridIndex } from './spatial.js';
import { UndoStack } from './undo.js';

let nextCid = 1;

const SHAPE_KEYS = ['type', 'frame', 'label_id', 'points', 'rotation', 'occluded', 'outside', 'z_order', 'attributes', 'group', 'source', 'elements', 'kind'];

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
    this.pendingDeletes = new Map(); // server id -> cid, deleted here but not yet on the server
    this.dirty = new Map(); // cid -> revision at the time of change
    this.rev = 0;
    this.tracks = [];
    this.undoStack = new UndoStack();
    this.ui = new Map(); // cid -> {hidden, locked}: view state that is never saved
    this.deletedKind = new Map(); // cid -> kind of a deleted object, for the delete payload
  }

  /** Load CVAT LabeledData from the server: nothing is dirty afterwards. */
  load(data) {
    this.objects.clear(); this.byFrame.clear(); this.indexes.clear(); this.serverId.clear();
    this.pendingDeletes.clear(); this.dirty.clear(); this.undoStack.clear();
    for (const s of data.shapes || []) this.add({ ...s, kind: 'shape', attributes: attrsIn(s.attributes) }, s.id);
    for (const t of data.tags || []) this.add({ ...t, kind: 'tag', type: 'tag', attributes: attrsIn(t.attributes) }, t.id);
    this.tracks = data.tracks || [];
    this.emit('reset');
  }

  add(state, serverId) {
    const cid = nextCid++;
    const obj = { ...snapshot(state), cid };
    this.objects.set(cid, obj);
    if (serverId != null) this.serverId.set(cid, serverId);
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
      this.indexes.set(frame, idx);
    }
    return idx;
  }

  get(cid) { return this.objects.get(cid); }

  onFrame(frame, kind = 'shape') {
    const out = [];
    for (const cid of this.byFrame.get(frame) || []) { const o = this.objects.get(cid); if (o.kind === kind) out.push(o); }
    return out;
  }

  uiOf(cid) { let u = this.ui.get(cid); if (!u) { u = { hidden: false, locked: false }; this.ui.set(cid, u); } return u; }

  /** Put an object into `state` (null deletes it) without recording undo. */
  apply(cid, state) {
    const old = this.objects.get(cid);
    if (old) {
      this.byFrame.get(old.frame)?.delete(cid);
      this.indexes.get(old.frame)?.remove(cid);
      this.objects.delete(cid);
    }
    const sid = this.serverId.get(cid);
    if (state) {
      const obj = { ...structuredClone(state), cid };
      this.objects.set(cid, obj);
      this.frameSet(obj.frame).add(cid);
      if (obj.kind === 'shape') this.indexes.get(obj.frame)?.insert(cid, bbox(obj));
      if (sid != null) this.pendingDeletes.delete(sid);
    } else if (sid != null) {
      this.pendingDeletes.set(sid, cid);
      if (old) this.deletedKind.set(cid, old.kind);
    }
    this.dirty.set(cid, ++this.rev);
    this.emit('change', { cid });
  }

  /** Apply several changes as one undoable step: changes = [{cid?, after}] (cid absent creates). */
  commit(label, changes) {
    const entry = { label, changes: [] };
    for (const ch of changes) {
      const cid = ch.cid ?? nextCid++;
      const before = this.objects.has(cid) ? snapshot(this.objects.get(cid)) : null;
      const after = ch.after ? snapshot(ch.after) : null;
      entry.changes.push({ cid, before, after });
      this.apply(cid, after);
    }
    this.undoStack.push(entry);
    this.emit('commit', entry);
    return entry.changes.map((c) => c.cid);
  }

  update(cid, patch, label = 'Edit') {
    const o = this.objects.get(cid);
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

  get hasUnsaved() { return this.dirty.size > 0 || this.pendingDeletes.size > 0; }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
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
  return {
    ...base, type: o.type, points: o.points, occluded: !!o.occluded, outside: !!o.outside,
    z_order: o.z_order ?? 0, rotation: ((o.rotation || 0) % 360 + 360) % 360,
    elements: (o.elements || []).map((e) => ({ ...e, attributes: e.attributes || [] })),
  };
}
