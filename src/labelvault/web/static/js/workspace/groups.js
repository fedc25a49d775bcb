// Groups (CVAT's G / Shift+G): G starts picking objects, clicks add or remove them, G again groups them; Shift+G ungroups.
import { toast } from '../ui.js';
import { snapshot } from './store.js';

export class Grouping {
  /** ctx: {store, view (the renderer), selected() (the selected object or null)}. */
  constructor(ctx) { this.ctx = ctx; this.active = false; this.members = new Set(); }

  /** G: start picking (the selected object is the first member), or group the picked objects. */
  toggle() {
    const { view } = this.ctx;
    if (!this.active) {
      this.active = true;
      const sel = this.ctx.selected();
      this.members = new Set(sel && sel.kind !== 'tag' ? [sel.cid] : []);
      view.groupMembers = this.members;
      view.invalidate('overlay');
      toast('Click the objects of the group, then press G again (Escape cancels).', 'info', 3000);
      return;
    }
    const cids = [...this.members];
    this.stop();
    if (!cids.length) return;
    this.assign(cids, this.nextId(), 'Group');
    toast(`Grouped ${cids.length} object(s)`, 'success', 1500);
  }

  /** Shift+G: the picked objects (or the selected one) leave their group. */
  reset() {
    const sel = this.ctx.selected();
    const cids = this.active ? [...this.members] : sel ? [sel.cid] : [];
    this.stop();
    if (cids.length) this.assign(cids, 0, 'Ungroup');
  }

  click(cid) {
    if (this.members.has(cid)) this.members.delete(cid); else this.members.add(cid);
    this.ctx.view.invalidate('overlay');
  }

  stop() {
    this.active = false;
    this.members = new Set();
    this.ctx.view.groupMembers = null;
    this.ctx.view.invalidate('overlay');
  }

  nextId() {
    let top = 0;
    for (const o of this.ctx.store.objects.values()) top = Math.max(top, o.group || 0);
    return top + 1;
  }

  assign(cids, group, label) {
    const { store } = this.ctx;
    store.commit(label, cids.map((cid) => store.get(cid)).filter(Boolean).map((o) => ({ cid: o.cid, after: { ...snapshot(o), group } })));
  }
}
