// Mask brush and eraser: paint into an image-sized bitmap, N/Enter turns it into a CVAT mask (RLE).
// context: {store, view (the renderer), labels, select(cid), create(partial), clamp(point)} — see screens/job.js.
import { encodeMask } from '../geometry.js';

export class BrushTool {
  constructor(context) { this.context = context; this.name = 'brush'; this.erase = false; this.size = 20; this.canvas = null; this.painted = false; this.cur = null; }

  get cursor() { return 'none'; }

  activate() {
    const { width, height } = this.context.view.imageSize;
    if (!this.canvas || this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas = document.createElement('canvas');
      this.canvas.width = width; this.canvas.height = height;
      this.painted = false;
    }
    this.context.view.toolOverlay = (ctx, r) => this.draw(ctx, r);
  }

  cancel() { if (this.canvas) this.canvas.getContext('2d').clearRect(0, 0, this.canvas.width, this.canvas.height); this.painted = false; this.context.view.invalidate('overlay'); }
  busy() { return this.painted; }

  onDown(e, p) { this.down = true; this.last = p; this.paint(p); }
  onMove(e, p) { this.cur = p; if (this.down) this.paint(p); else this.context.view.invalidate('overlay'); }
  onUp() { this.down = false; }
  onKey(e) { if (e.key === 'Enter') { this.finish(); return true; } return false; }

  paint(p) {
    const ctx = this.canvas.getContext('2d');
    ctx.globalCompositeOperation = this.erase ? 'destination-out' : 'source-over';
    ctx.strokeStyle = ctx.fillStyle = '#fff';
    ctx.lineCap = 'round';
    ctx.lineWidth = this.size;
    ctx.beginPath(); ctx.moveTo(...this.last); ctx.lineTo(...p); ctx.stroke();
    this.last = p;
    this.painted = true;
    this.context.view.invalidate('overlay');
  }

  finish() {
    if (!this.painted) return false;
    const { width, height } = this.canvas;
    const data = this.canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const alpha = new Uint8Array(width * height);
    for (let i = 0; i < alpha.length; i++) alpha[i] = data[4 * i + 3] > 127 ? 1 : 0;
    const points = encodeMask(alpha, width, height);
    this.cancel();
    if (!points) return false;
    this.context.create({ type: 'mask', points });
    return true;
  }

  draw(ctx, r) {
    if (this.canvas && this.painted) {
      const { scale, x, y } = r.view;
      ctx.save();
      ctx.globalAlpha = 0.5;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.canvas, x, y, this.canvas.width * scale, this.canvas.height * scale);
      ctx.globalCompositeOperation = 'source-atop';
      ctx.fillStyle = r.colorOf(this.context.labels.forType('mask')?.id);
      ctx.fillRect(0, 0, r.width, r.height);
      ctx.restore();
    }
    if (this.cur) {
      const [sx, sy] = r.toScreen(...this.cur);
      ctx.beginPath(); ctx.arc(sx, sy, (this.size / 2) * r.view.scale, 0, Math.PI * 2);
      ctx.strokeStyle = this.erase ? '#f55' : '#fff'; ctx.lineWidth = 1.5; ctx.stroke();
    }
  }
}
