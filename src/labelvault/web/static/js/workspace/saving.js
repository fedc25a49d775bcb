// Saving a job's work: autosave state, catching up with another session's save (412), restoring journals of closed tabs.
import { h, toast } from '../ui.js';
import { askConflicts } from './conflict_dialog.js';
import { catchUp } from './sync.js';

const STATES = {
  saved: () => 'Saved', saving: () => 'Saving…', unsaved: () => 'Unsaved changes', failed: (m) => `Save failed — ${m}`,
  refused: (m) => `Saved, except: ${m}`, stale: () => 'Someone else saved this job — merging…',
};

export class Saving {
  /**
   * ctx: {jobId, store, autosave, describe(obj), deselect(), status (element), banner (element)}.
   * Autosave does the sending; this decides what happens around it.
   */
  constructor(ctx) {
    Object.assign(this, ctx);
    this.autosave.addEventListener('state', (e) => {
      const { state, message } = e.detail;
      this.status.textContent = STATES[state](message);
      this.status.title = this.status.textContent; // the line is cut short in the toolbar; the whole text on hover
      this.status.dataset.state = state;
      if (state === 'saved' && this.waiting?.length) this.restoreNext();
    });
    this.autosave.addEventListener('stale', () => this.catchUpAndSave());
  }

  /** Merge in what another session saved (see sync.js), with autosave held meanwhile. */
  async catchUp(opts) {
    this.autosave.paused = true;
    try {
      const result = await catchUp({ jobId: this.jobId, store: this.store, ask: (cs) => askConflicts(cs, this.describe), ...opts });
      this.deselect();
      return result;
    } finally { this.autosave.paused = false; }
  }

  async catchUpAndSave() {
    let result;
    try { result = await this.catchUp(); } catch (err) {
      this.autosave.setState('failed', `could not read the newer version: ${err.message} — press Save to try again`);
      return;
    }
    this.banner.hidden = false;
    this.banner.replaceChildren(`Another session saved this job while you worked. Its changes are shown; yours were ${result.conflicts ? 'merged as you chose' : 'kept on top'} and are being saved.`,
      h('button', { type: 'button', onclick: () => { this.banner.hidden = true; } }, 'OK'));
    this.autosave.save();
  }

  /**
   * Work this browser kept from earlier sessions (a reload of this tab, closed tabs of this job) goes
   * on top of what the server has now, one journal at a time: each is merged, saved, and only then
   * is the next one merged, so where two of them touched one object the annotator chooses.
   */
  async restoreJournals(server) {
    this.waiting = await this.autosave.orphanJournals();
    if (this.waiting.length) await this.restoreNext(server);
  }

  async restoreNext(server = null) {
    // A journal is merged onto a store with nothing unsaved; until the last merge is saved, the rest wait.
    if (this.restoring || this.store.hasUnsaved || !this.waiting.length) return;
    this.restoring = true;
    const journal = this.waiting.shift();
    try {
      const n = journal.entries.length;
      const { conflicts } = await this.catchUp({ entries: journal.entries, version: journal.version, server });
      this.autosave.journal(); // this tab's journal now holds the merged work ...
      this.autosave.removeJournal(journal.key); // ... so the merged one can go
      toast(`Restored ${n} unsaved change(s) from this browser${conflicts ? ` (${conflicts} chosen by you)` : ''}; saving them now.`, 'info', 6000);
      this.autosave.schedule(300);
    } catch (err) {
      this.waiting.unshift(journal);
      toast(`Unsaved work from an earlier session could not be merged yet: ${err.message}`, 'error');
    } finally { this.restoring = false; }
  }

  /** Save now (Ctrl+S / the Save button): the status line says how it went, no second message. */
  async saveNow() {
    const ok = await this.autosave.save();
    if (ok) toast('Saved', 'success', 1500);
    return ok;
  }
}
