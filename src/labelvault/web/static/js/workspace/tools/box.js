// Rectangle and ellipse tools: draw by dragging, or by two clicks (as CVAT), from corner to corner.
// context: {store, view (the renderer), labels, select(cid), create(partial), clamp(point)} — see screens/job.js.
import { cuboidFromBox } from '../cuboid.js';
import { boxToEllipse, rectFrom } from '../geometry.js';

export class BoxTool {
  constructor(context, type) { this.context = context; this.name = type; this.type = type; this.start = null; this.cur = null; }

  get cursor() { return 'crosshair'; }
  activate() { this.context.view.toolOverlay = (ctx, r) => this.draw(ctx, r); }
  cancel() { this.start = null; this.pressing = false; this.context.view.invalidate('overlay'); }
  busy() { return !!this.start; }
  finish() { return false; }

  onDown(e, p) {
    if (this.start && !this.pressing) { this.complete(p); return; }
    this.start = this.context.clamp(p);
    this.cur = this.start;
    this.downAt = [e.offsetX, e.offsetY];
    this.pressing = true;
  }

  onMove(_e, p) {
    this.cur = this.context.clamp(p);
    if (this.start) this.context.view.invalidate('overlay');
  }

  onUp(e, p) {
    if (!this.pressing) return;
    this.pressing = false;
    // A drag draws the box; a click without movement waits for the second click.
    if (Math.hypot(e.offsetX - this.downAt[0], e.offsetY - this.downAt[1]) > 5) this.complete(p);
  }

  complete(p) {
    const [x2, y2] = this.context.clamp(p);
    const box = rectFrom(this.start[0], this.start[1], x2, y2);
    this.start = null;
    this.context.view.invalidate('overlay');
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) return;
    // A cuboid's box is its front face; a skeleton's box is where its template is placed (see create()).
    if (this.type === 'skeleton') { this.context.create({ type: 'skeleton', points: [], box }); return; }
    this.context.create({ type: this.type, points: this.type === 'ellipse' ? boxToEllipse(box) : this.type === 'cuboid' ? cuboidFromBox(box) : box });
  }

  draw(ctx, r) {
    if (!this.start || !this.cur) { this.crosshair(ctx, r); return; }
    const [a, b] = r.toScreen(...this.start);
    const [c, d] = r.toScreen(...this.cur);
    ctx.strokeStyle = r.colorOf(this.context.labels.forType(this.type)?.id);
    ctx.lineWidth = 2;
    ctx.setLineDash([5, 3]);
    ctx.beginPath();
    if (this.type === 'ellipse') ctx.ellipse((a + c) / 2, (b + d) / 2, Math.abs(c - a) / 2, Math.abs(d - b) / 2, 0, 0, Math.PI * 2);
    else ctx.rect(a, b, c - a, d - b);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  crosshair(ctx, r) {
    if (!this.cur) return;
    const [x, y] = r.toScreen(...this.cur);
    ctx.strokeStyle = 'rgba(255,255,255,0.6)';
    ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, r.height); ctx.moveTo(0, y); ctx.lineTo(r.width, y); ctx.stroke();
  }
}
