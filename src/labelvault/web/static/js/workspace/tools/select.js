// Select/edit tool: pick shapes, move, resize box handles, rotate, drag/add/remove vertices; drag on empty space pans.
// context: {store, view (the renderer), labels, select(cid), create(partial), clamp(point)} — see screens/job.js.
import { moveVertex } from '../cuboid.js';
import { boxToEllipse, ellipseToBox, moved, nearestEdge, pick, resizeBox, rotationTowards } from '../geometry.js';
import { snapshot } from '../store.js';

const HANDLE_PX = 8;

export class SelectTool {
  constructor(context) { this.context = context; this.name = 'select'; this.mode = null; }

  get cursor() { return 'default'; }

  activate() {}
  cancel() { this.mode = null; this.context.view.preview = null; this.context.view.invalidate('overlay'); }
  busy() { return false; }

  candidates(ix, iy, tol) {
    const { store, view: renderer } = this.context;
    return store.index(renderer.frame).around(ix, iy, tol).map((cid) => store.get(cid))
      .filter((o) => o && !o.outside && !store.ui.get(o.cid)?.hidden && renderer.filter(o));
  }

  hitAt(ix, iy) {
    const r = this.context.view;
    const tol = 5 / r.view.scale;
    const list = this.candidates(ix, iy, tol);
    const sel = r.selected != null ? list.find((o) => o.cid === r.selected) : null;
    // The selected shape keeps the pointer even when a smaller one overlaps it, so it can be dragged.
    if (sel && pick([sel], ix, iy, tol)) return sel;
    return pick(list, ix, iy, tol);
  }

  onDown(e, [ix, iy]) {
    const { view: r, store } = this.context;
    const sel = r.selectedState();
    this.start = [ix, iy];
    this.startScreen = [e.offsetX, e.offsetY];
    if (sel && !store.ui.get(sel.cid)?.locked) {
      const rot = r.rotationHandle(sel);
      if (rot && Math.hypot(rot.screen[0] - e.offsetX, rot.screen[1] - e.offsetY) < HANDLE_PX) {
        this.begin('rotate', sel, { center: rot.center });
        return;
      }
      for (const [name, hx, hy] of r.handlesOf(sel)) {
        const [sx, sy] = r.toScreen(hx, hy);
        if (Math.hypot(sx - e.offsetX, sy - e.offsetY) > HANDLE_PX) continue;
        if (typeof name === 'number' && e.altKey) { this.removeVertex(sel, name); return; }
        this.begin('handle', sel, { handle: name });
        return;
      }
      if (e.shiftKey && (sel.type === 'polygon' || sel.type === 'polyline')) {
        const edge = nearestEdge(sel.points, ix, iy, 6 / r.view.scale, sel.type === 'polygon');
        if (edge >= 0) {
          const points = sel.points.slice();
          points.splice(2 * edge + 2, 0, ix, iy);
          this.begin('handle', { ...sel, points }, { handle: edge + 1 });
          return;
        }
      }
    }
    const hit = this.hitAt(ix, iy);
    if (hit) {
      this.context.select(hit.cid);
      if (!store.ui.get(hit.cid)?.locked) this.begin('move', hit, {});
      else this.mode = null;
      return;
    }
    this.context.select(null);
    this.mode = 'pan';
  }

  begin(mode, state, extra) {
    this.mode = mode;
    this.orig = snapshot(state);
    this.orig.cid = state.cid;
    Object.assign(this, extra);
    this.context.view.preview = { cid: state.cid, state: { ...this.orig } };
  }

  onMove(e, [ix, iy]) {
    const r = this.context.view;
    if (!this.mode) {
      const hit = this.hitAt(ix, iy);
      const cid = hit ? hit.cid : null;
      if (cid !== r.hover) { r.hover = cid; r.invalidate('overlay'); }
      r.overlay.style.cursor = hit ? (this.context.store.ui.get(cid)?.locked ? 'not-allowed' : 'move') : 'default';
      return;
    }
    if (this.mode === 'pan') { r.panBy(e.movementX, e.movementY); return; }
    const o = this.orig;
    let next = null;
    if (this.mode === 'move') next = moved(o, ix - this.start[0], iy - this.start[1]);
    else if (this.mode === 'rotate') {
      let deg = rotationTowards(this.center[0], this.center[1], ix, iy);
      if (e.shiftKey) deg = Math.round(deg / 15) * 15 % 360;
      next = { ...o, rotation: deg };
    } else if (this.mode === 'handle') {
      const h = this.handle;
      if (typeof h === 'number' && o.type === 'cuboid') next = { ...o, points: moveVertex(r.preview.state.points, h, ix, iy) };
      else if (typeof h === 'number') { const points = r.preview.state.points.slice(); points[2 * h] = ix; points[2 * h + 1] = iy; next = { ...o, points }; }
      else if (o.type === 'rectangle') next = { ...o, points: resizeBox(o.points, o.rotation || 0, h, ix, iy) };
      else if (o.type === 'ellipse') next = { ...o, points: boxToEllipse(resizeBox(ellipseToBox(o.points), o.rotation || 0, h, ix, iy)) };
      else if (h.startsWith?.('el')) {
        const i = Number(h.slice(2));
        const elements = o.elements.map((el, j) => (j === i ? { ...el, points: [ix, iy] } : el));
        next = { ...o, elements };
      }
    }
    if (next) { r.preview = { cid: o.cid, state: next }; r.invalidate('overlay'); }
  }

  onUp(e) {
    const r = this.context.view;
    const mode = this.mode;
    this.mode = null;
    if (!mode || mode === 'pan') return;
    const moved = Math.hypot(e.offsetX - this.startScreen[0], e.offsetY - this.startScreen[1]) > 1;
    const state = r.preview?.state;
    r.preview = null;
    if (state && (moved || mode === 'handle')) {
      const { cid, ...after } = state;
      this.context.store.commit(mode === 'move' ? 'Move' : mode === 'rotate' ? 'Rotate' : 'Resize', [{ cid, after }]);
    }
    r.invalidate('overlay');
  }

  removeVertex(sel, index) {
    const min = sel.type === 'polygon' ? 3 : sel.type === 'polyline' ? 2 : 1;
    if (sel.points.length / 2 <= min) return;
    const points = sel.points.slice();
    points.splice(2 * index, 2);
    this.context.store.commit('Remove point', [{ cid: sel.cid, after: { ...snapshot(sel), points } }]);
  }
}
