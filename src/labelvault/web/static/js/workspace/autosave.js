// Autosave: PATCH changed objects every few seconds, keep a local journal until the server confirms.
import { request } from '../api.js';
import { snapshot, toWire } from './store.js';

const DELAY_MS = 2000;

export class Autosave extends EventTarget {
  constructor(jobId, store, version) {
    super();
    this.jobId = jobId;
    this.store = store;
    this.version = version;
    this.state = 'saved';
    this.saving = null;
    this.timer = null;
    this.failures = 0;
    this.enabled = true;
    this.key = `labelvault:journal:job:${jobId}`;
    this.onChange = () => { this.journal(); this.setState('unsaved'); this.schedule(DELAY_MS); };
    store.addEventListener('change', this.onChange);
    this.onOnline = () => this.schedule(0);
    window.addEventListener('online', this.onOnline);
  }

  destroy() {
    clearTimeout(this.timer);
    this.store.removeEventListener('change', this.onChange);
    window.removeEventListener('online', this.onOnline);
  }

  setState(state, message = '') {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, message } }));
  }

  schedule(ms) {
    if (!this.enabled && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), ms);
  }

  /** Unsaved work lives in localStorage until the server confirms it, so a crash or closed tab loses nothing. */
  journal() {
    const s = this.store;
    if (!s.hasUnsaved) { localStorage.removeItem(this.key); return; }
    const objects = [];
    for (const cid of s.dirty.keys()) {
      const o = s.get(cid);
      objects.push({ cid, id: s.serverId.get(cid) ?? null, state: o ? snapshot(o) : null });
    }
    try {
      localStorage.setItem(this.key, JSON.stringify({ version: this.version, objects, deletes: [...s.pendingDeletes.keys()], at: Date.now() }));
    } catch { /* quota: the server save is still attempted */ }
  }

  /** Re-apply a journal left by an earlier session; returns the number of restored changes. */
  restore() {
    let j;
    try { j = JSON.parse(localStorage.getItem(this.key) || 'null'); } catch { j = null; }
    if (!j || !(j.objects?.length || j.deletes?.length)) return 0;
    const s = this.store;
    const cidOf = new Map([...s.serverId].map(([cid, id]) => [id, cid]));
    let n = 0;
    for (const item of j.objects) {
      const cid = item.id != null && cidOf.has(item.id) ? cidOf.get(item.id) : null;
      if (cid != null) { s.apply(cid, item.state); n++; } else if (item.state) { s.commit('Restore', [{ after: item.state }]); n++; }
    }
    for (const id of j.deletes || []) { const cid = cidOf.get(id); if (cid != null && s.get(cid)) { s.apply(cid, null); n++; } }
    s.undoStack.clear();
    return n;
  }

  async patch(action, data) {
    const res = await request('PATCH', `/api/jobs/${this.jobId}/annotations?action=${action}`, {
      json: { version: this.version, tags: [], shapes: [], tracks: [], ...data },
      // The server may check this to refuse saving over another session's newer work.
      headers: { 'If-Match': `"${this.version}"` },
    });
    if (typeof res?.version === 'number') {
      if (res.version > this.version + 1) {
        this.dispatchEvent(new CustomEvent('conflict', { detail: { theirs: res.version - 1, ours: this.version } }));
      }
      this.version = res.version;
    }
    return res;
  }

  /** Save everything dirty now; resolves true when the server has it all. */
  save() {
    if (this.saving) { this.again = true; return this.saving; }
    clearTimeout(this.timer);
    this.saving = this.run().finally(() => {
      this.saving = null;
      if (this.again) { this.again = false; this.schedule(0); }
    });
    return this.saving;
  }

  async run() {
    const s = this.store;
    if (!s.hasUnsaved) { this.setState('saved'); return true; }
    this.setState('saving');
    const taken = new Map(s.dirty);
    const creates = { shapes: [], tags: [] }; const createCids = { shapes: [], tags: [] };
    const updates = { shapes: [], tags: [] };
    for (const cid of taken.keys()) {
      const o = s.get(cid);
      if (!o) continue;
      const key = o.kind === 'tag' ? 'tags' : 'shapes';
      const id = s.serverId.get(cid);
      if (id != null) updates[key].push(toWire(o, id));
      else { creates[key].push(toWire(o)); createCids[key].push(cid); }
    }
    const deletes = [...s.pendingDeletes];
    try {
      if (creates.shapes.length || creates.tags.length) {
        const res = await this.patch('create', creates);
        // New ids come back in insertion order, which is ascending id order.
        for (const key of ['shapes', 'tags']) {
          const ids = (res[key] || []).map((x) => x.id).sort((a, b) => a - b);
          createCids[key].forEach((cid, i) => { if (ids[i] != null) s.serverId.set(cid, ids[i]); });
        }
      }
      if (updates.shapes.length || updates.tags.length) await this.patch('update', updates);
      if (deletes.length) {
        const del = { shapes: [], tags: [] };
        for (const [id, cid] of deletes) {
          const kind = this.kindOf(cid);
          del[kind].push({ id, frame: 0, label_id: 0, ...(kind === 'shapes' ? { type: 'rectangle', points: [] } : {}) });
        }
        await this.patch('delete', del);
        for (const [id, cid] of deletes) { s.pendingDeletes.delete(id); if (!s.get(cid)) s.serverId.delete(cid); }
      }
      for (const [cid, rev] of taken) if (s.dirty.get(cid) === rev) s.dirty.delete(cid);
      for (const [cid] of taken) if (!s.get(cid) && !s.serverId.has(cid)) s.dirty.delete(cid);
      this.failures = 0;
      this.journal();
      if (s.hasUnsaved) { this.setState('unsaved'); this.schedule(DELAY_MS); } else this.setState('saved');
      return !s.hasUnsaved;
    } catch (err) {
      this.failures++;
      const wait = Math.min(30000, 1000 * 2 ** Math.min(this.failures, 5));
      this.journal();
      this.setState('failed', `${err.message} — retrying in ${Math.round(wait / 1000)} s`);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.save(), wait);
      return false;
    }
  }

  kindOf(cid) {
    if (this.store.deletedKind.has(cid)) return this.store.deletedKind.get(cid) === 'tag' ? 'tags' : 'shapes';
    for (const e of this.store.undoStack.done) for (const c of e.changes) if (c.cid === cid && c.before) return c.before.kind === 'tag' ? 'tags' : 'shapes';
    return 'shapes';
  }

  /** Best effort when the page goes away: the journal already holds the work either way. */
  flushOnUnload() {
    this.journal();
    if (this.store.hasUnsaved) this.save();
  }
}
