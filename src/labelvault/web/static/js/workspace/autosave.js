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
    this.prefix = `labelvault:journal:job:${jobId}`;
    this.tab = tabId();
    this.key = `${this.prefix}:tab:${this.tab}`;
    // A live tab holds this lock until it closes, so another tab can tell its journal is orphaned.
    navigator.locks?.request(`labelvault:tab:${this.tab}`, () => new Promise(() => {})).catch(() => {});
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

  /**
   * Journals a session left that no live tab owns: this tab's own (a reload) and those of closed
   * tabs of the same job, oldest first. Each is {key, version, entries}; the caller merges one and
   * then drops it with removeJournal(key), so none is ever discarded unmerged.
   */
  async orphanJournals() {
    const live = await liveTabs();
    const out = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key !== this.prefix && !key?.startsWith(`${this.prefix}:tab:`)) continue;
      const owner = key === this.prefix ? null : key.slice(this.prefix.length + 5);
      if (owner !== this.tab && owner !== null && isLive(live, owner, key)) continue;
      const j = parseJournal(localStorage.getItem(key));
      if (j) out.push({ key, ...j });
    }
    // Own journal last: it is the newest view of this tab, merged on top of the others.
    return out.sort((a, b) => (a.key === this.key) - (b.key === this.key) || (a.at || 0) - (b.at || 0));
  }

  removeJournal(key) { if (key !== this.key) localStorage.removeItem(key); }

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
    const kinds = ['shapes', 'tags', 'tracks'];
    const only = (pick) => Object.fromEntries(kinds.map((k) => [k, (byKind[k] || []).filter(pick)]));
    let part = only((e) => !e.refused);
    while (kinds.some((k) => part[k].length)) {
      try {
        const res = await this.patch(action, Object.fromEntries(kinds.map((k) => [k, part[k].map((e) => wire(action, e))])));
        this.store.confirm({ [op]: part }, res);
        return;
      } catch (err) {
        if (err.status !== 400) throw err;
        const refused = refusals(err.body, part);
        if (!refused.size) throw err;
        this.store.refuse(refused);
        const before = part;
        part = Object.fromEntries(kinds.map((k) => [k, before[k].filter((e) => !refused.has(e.cid))]));
      }
    }
  }

  /** Best effort when the page goes away: the journal already holds the work either way. */
  flushOnUnload() {
    this.journal();
    if (this.store.hasUnsaved) this.save();
  }
}

const TAB_KEY = 'labelvault:tab';

/** This tab's id, kept in sessionStorage so a reload of the tab finds its own journal again. */
export function tabId() {
  let id = sessionStorage.getItem(TAB_KEY);
  if (!id) {
    id = globalThis.crypto?.randomUUID?.() || `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    sessionStorage.setItem(TAB_KEY, id);
  }
  return id;
}

/** Tab ids whose lock is held (tabs still open), or null when the browser has no Web Locks. */
async function liveTabs() {
  try {
    const q = await navigator.locks?.query();
    if (!q) return null;
    return new Set(q.held.map((l) => l.name).filter((n) => n?.startsWith('labelvault:tab:')).map((n) => n.slice(15)));
  } catch { return null; }
}

// Without Web Locks a journal counts as live while it was written in the last minute.
function isLive(live, owner, key) {
  if (live) return live.has(owner);
  const j = parseJournal(localStorage.getItem(key));
  return j != null && Date.now() - (j.at || 0) < 60000;
}

/** A stored journal as {version, entries, at} (entries as changeEntries), or null. */
export function parseJournal(text) {
  let j;
  try { j = JSON.parse(text || 'null'); } catch { j = null; }
  if (!j) return null;
  if (j.format === 2) return j.entries?.length ? j : null;
  // Journals of earlier versions kept no base states: their changes count as changed on both sides
  // unless the server is still at their version.
  const entries = (j.objects || []).map((o) => ({ op: o.id == null ? 'created' : o.state ? 'updated' : 'deleted', kind: o.state?.kind === 'tag' ? 'tags' : 'shapes', cid: o.cid, id: o.id, state: o.state, base: null }));
  for (const id of j.deletes || []) if (!entries.some((e) => e.id === id)) entries.push({ op: 'deleted', kind: 'shapes', id, state: null, base: null });
  return entries.length ? { version: j.version, entries, legacy: true, at: j.at } : null;
}

function wire(action, e) {
  if (action === 'create') return { ...toWire(e.state), client_id: e.cid }; // echoed in the server's errors
  if (action === 'update') return toWire(e.state, e.id);
  if (e.kind === 'tracks' || e.base?.kind === 'track') return { id: e.id, frame: 0, label_id: 0, shapes: [] };
  return e.kind === 'tags' || e.base?.kind === 'tag' ? { id: e.id, frame: 0, label_id: 0 } : { id: e.id, frame: 0, label_id: 0, type: 'rectangle', points: [] };
}
