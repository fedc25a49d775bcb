// Polygon, polyline and points tools: click to add points; double-click, Enter or N finishes; Backspace undoes a point.
// context: {store, view (the renderer), labels, select(cid), create(partial), clamp(point)} — see screens/job.js.

const MIN = { polygon: 3, polyline: 2, points: 1 };

export class PolyTool {
  constructor(context, type) { this.context = context; this.name = type; this.type = type; this.points = []; this.cur = null; }

  get cursor() { return 'crosshair'; }
  activate() { this.context.view.toolOverlay = (ctx, r) => this.draw(ctx, r); }
  cancel() { this.points = []; this.context.view.invalidate('overlay'); }
  busy() { return this.points.length > 0; }

  onDown(e, p) {
    const q = this.context.clamp(p);
    // A second click on the same spot within 350 ms is a double-click: finish (pointer events carry no click count).
    const now = performance.now();
    const again = this.lastDown && now - this.lastDown.t < 350 && Math.hypot(e.offsetX - this.lastDown.x, e.offsetY - this.lastDown.y) < 5;
    this.lastDown = { t: now, x: e.offsetX, y: e.offsetY };
    if (again && this.points.length) { this.lastDown = null; this.finish(); return; }
    // Clicking the first vertex closes a polygon, as in CVAT.
    if (this.type === 'polygon' && this.points.length >= 6) {
      const [fx, fy] = this.context.view.toScreen(this.points[0], this.points[1]);
      if (Math.hypot(fx - e.offsetX, fy - e.offsetY) < 8) { this.finish(); return; }
    }
    this.points.push(q[0], q[1]);
    this.context.view.invalidate('overlay');
  }

  onMove(_e, p) { this.cur = this.context.clamp(p); if (this.points.length) this.context.view.invalidate('overlay'); }
  onUp() {}

  onKey(e) {
    if (e.key === 'Enter') { this.finish(); return true; }
    if (e.key === 'Backspace' && this.points.length) { this.points.splice(-2, 2); this.context.view.invalidate('overlay'); return true; }
    return false;
  }

  /** Returns true when a shape was created. */
  finish() {
    const pts = this.points;
    this.points = [];
    this.context.view.invalidate('overlay');
    if (pts.length / 2 < MIN[this.type]) return false;
    this.context.create({ type: this.type, points: pts });
    return true;
  }

  draw(ctx, r) {
    const p = this.points;
    if (!p.length) return;
    ctx.strokeStyle = r.colorOf(this.context.labels.forType(this.type)?.id);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = 2;
    ctx.beginPath();
    const s = (i) => r.toScreen(p[i], p[i + 1]);
    if (this.type !== 'points') {
      ctx.moveTo(...s(0));
      for (let i = 2; i < p.length; i += 2) ctx.lineTo(...s(i));
      if (this.cur) ctx.lineTo(...r.toScreen(...this.cur));
      ctx.stroke();
    }
    ctx.beginPath();
    for (let i = 0; i < p.length; i += 2) { const [x, y] = s(i); ctx.moveTo(x + 4, y); ctx.arc(x, y, 4, 0, Math.PI * 2); }
    ctx.fill();
  }
}
