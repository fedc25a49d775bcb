// Autosave: send the store's pending changes every few seconds, keep a local journal until the server confirms.
import { request } from '../api.js';
import { refusals } from './refusals.js';
import { changeEntries, toWire } from './store.js';

const DELAY_MS = 2000;
const ACTIONS = [['create', 'created'], ['update', 'updated'], ['delete', 'deleted']];

export class Autosave extends EventTarget {
  constructor(jobId, store) {
    super();
    this.jobId = jobId;
    this.store = store;
    this.state = 'saved';
    this.saving = null;
    this.timer = null;
    this.failures = 0;
    this.enabled = true;
    this.paused = false; // while a newer server version is merged in: saving now would be refused again
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

  /**
   * Unsaved work lives in localStorage until the server confirms it, so a crash or closed tab loses
   * nothing. It keeps the version and the server states it was based on, so a reload can tell
   * whether someone saved over that base meanwhile (then it is merged, never replayed blindly).
   */
  journal() {
    const pending = this.store.pendingChanges();
    const entries = [...changeEntries(pending)];
    if (!entries.length) { localStorage.removeItem(this.key); return; }
    try {
      localStorage.setItem(this.key, JSON.stringify({ format: 2, version: pending.version, entries, at: Date.now() }));
    } catch { /* quota: the server save is still attempted */ }
  }

  /** The journal an earlier session left: {version, entries} (entries as changeEntries), or null. */
  readJournal() {
    let j;
    try { j = JSON.parse(localStorage.getItem(this.key) || 'null'); } catch { j = null; }
    if (!j) return null;
    if (j.format === 2) return j.entries?.length ? j : null;
    // Journals of earlier versions kept no base states: their changes count as changed on both sides
    // unless the server is still at their version.
    const entries = (j.objects || []).map((o) => ({ op: o.id == null ? 'created' : o.state ? 'updated' : 'deleted', kind: o.state?.kind === 'tag' ? 'tags' : 'shapes', cid: o.cid, id: o.id, state: o.state, base: null }));
    for (const id of j.deletes || []) if (!entries.some((e) => e.id === id)) entries.push({ op: 'deleted', kind: 'shapes', id, state: null, base: null });
    return entries.length ? { version: j.version, entries, legacy: true } : null;
  }

  async patch(action, data) {
    return request('PATCH', `/api/jobs/${this.jobId}/annotations?action=${action}`, {
      json: { version: this.store.version, tags: [], shapes: [], tracks: [], ...data },
      // The server refuses (412) a save whose If-Match is not the job's current version: then someone
      // saved since we read, and we merge instead of writing over their work.
      headers: { 'If-Match': `"${this.store.version}"` },
    });
  }

  /** Save everything pending now; resolves true when the server has it all. */
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
    if (this.paused) return false;
    const pending = s.pendingChanges();
    if (!s.hasUnsaved) { this.setState('saved'); return true; }
    this.setState('saving');
    try {
      for (const [action, op] of ACTIONS) await this.send(action, op, pending[op]);
      this.failures = 0;
      this.journal();
      if (s.refused.size) this.setState('refused', `${s.refused.size} object(s) were refused; fix or drop them (marked in the list)`);
      else if (s.hasUnsaved) { this.setState('unsaved'); this.schedule(DELAY_MS); } else this.setState('saved');
      return !s.hasUnsaved;
    } catch (err) {
      this.journal();
      if (err.status === 412) {
        // Retrying cannot help: the version we build on is gone. Say so and let the workspace merge.
        this.setState('stale', 'someone else saved this job');
        this.dispatchEvent(new CustomEvent('stale', { detail: { message: err.message } }));
        return false;
      }
      if (err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
        this.setState('failed', `${err.message} — change something or press Save to try again`);
        return false;
      }
      this.failures++;
      const wait = Math.min(30000, 1000 * 2 ** Math.min(this.failures, 5));
      this.setState('failed', `${err.message} — retrying in ${Math.round(wait / 1000)} s`);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.save(), wait);
      return false;
    }
  }

  /**
   * One PATCH of one action. Objects the server refuses (400 naming them) are set aside in the
   * store, and the rest is sent again at once: one bad object never blocks the others.
   */
  async send(action, op, byKind) {
    let part = { shapes: byKind.shapes.filter((e) => !e.refused), tags: byKind.tags.filter((e) => !e.refused) };
    while (part.shapes.length || part.tags.length) {
      try {
        const res = await this.patch(action, { shapes: part.shapes.map((e) => wire(action, e)), tags: part.tags.map((e) => wire(action, e)) });
        this.store.confirm({ [op]: part }, res);
        return;
      } catch (err) {
        if (err.status !== 400) throw err;
        const refused = refusals(err.body, part);
        if (!refused.size) throw err;
        this.store.refuse(refused);
        part = { shapes: part.shapes.filter((e) => !refused.has(e.cid)), tags: part.tags.filter((e) => !refused.has(e.cid)) };
      }
    }
  }

  /** Best effort when the page goes away: the journal already holds the work either way. */
  flushOnUnload() {
    this.journal();
    if (this.store.hasUnsaved) this.save();
  }
}

function wire(action, e) {
  if (action === 'create') return { ...toWire(e.state), client_id: e.cid }; // echoed in the server's errors
  if (action === 'update') return toWire(e.state, e.id);
  return e.kind === 'tags' || e.base?.kind === 'tag' ? { id: e.id, frame: 0, label_id: 0 } : { id: e.id, frame: 0, label_id: 0, type: 'rectangle', points: [] };
}
