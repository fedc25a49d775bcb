// Canvas 2D renderer: image layer, cached layer of unselected shapes (culled by the grid index), overlay for the selection.
import { DEG, boxHandles, decodeMask, ellipseParams, ellipseToBox, rectCorners } from './geometry.js';

const MARGIN = 0.25; // the cached shapes layer extends this share of the viewport on each side
const RERENDER_MS = 90; // idle time after pan/zoom before the cached layer is redrawn sharp

export class Renderer {
  constructor(container, store) {
    this.container = container;
    this.store = store;
    this.dpr = window.devicePixelRatio || 1;
    const mk = (cls) => { const c = document.createElement('canvas'); c.className = cls; container.append(c); return c; };
    this.imageCanvas = mk('layer layer-image');
    this.shapesCanvas = mk('layer layer-shapes');
    this.overlay = mk('layer layer-overlay');
    this.overlay.tabIndex = 0;
    this.overlay.setAttribute('role', 'application');
    this.overlay.setAttribute('aria-label', 'Annotation canvas');
    this.cache = document.createElement('canvas');
    this.view = { scale: 1, x: 0, y: 0 };
    this.cacheView = null;
    this.image = null;
    this.imageSize = { width: 1, height: 1 };
    this.frame = 0;
    this.selected = null;
    this.hover = null;
    this.preview = null; // {cid, state}: the selected shape while it is being dragged
    this.editing = null; // cid left out of the cached layer while it is dragged
    this.toolOverlay = null; // fn(ctx, renderer) drawing the tool in progress
    this.filter = () => true;
    this.colors = new Map();
    this.opacity = 0.2;
    this.showText = true;
    this.masks = new Map();
    this.dirty = { image: true, blit: true, statics: true, overlay: true };
    this.stats = { staticMs: 0, staticCount: 0, frameMs: 0 };
    this.raf = 0;
    this.rerenderTimer = 0;
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(container);
    this.resize();
  }

  destroy() { this.ro.disconnect(); cancelAnimationFrame(this.raf); clearTimeout(this.rerenderTimer); }

  resize() {
    const r = this.container.getBoundingClientRect();
    this.width = Math.max(1, r.width);
    this.height = Math.max(1, r.height);
    for (const c of [this.imageCanvas, this.shapesCanvas, this.overlay]) {
      c.width = Math.round(this.width * this.dpr);
      c.height = Math.round(this.height * this.dpr);
      c.style.width = `${this.width}px`;
      c.style.height = `${this.height}px`;
    }
    const m = MARGIN * 2 + 1;
    this.cache.width = Math.round(this.width * m * this.dpr);
    this.cache.height = Math.round(this.height * m * this.dpr);
    this.invalidate('all');
  }

  setImage(img, width, height) {
    this.image = img;
    this.imageSize = { width, height };
    this.invalidate('image');
  }

  setFrame(frame) { this.frame = frame; this.selected = null; this.hover = null; this.preview = null; this.invalidate('statics'); }

  colorOf(labelId) { return this.colors.get(labelId) || '#ff00aa'; }

  // ---- view transform ---------------------------------------------------------------------

  toImage(sx, sy) { return [(sx - this.view.x) / this.view.scale, (sy - this.view.y) / this.view.scale]; }
  toScreen(ix, iy) { return [ix * this.view.scale + this.view.x, iy * this.view.scale + this.view.y]; }

  fit() {
    const { width, height } = this.imageSize;
    const s = Math.min(this.width / width, this.height / height) * 0.95;
    this.setView({ scale: s, x: (this.width - width * s) / 2, y: (this.height - height * s) / 2 });
  }

  actualSize() { this.zoomAt(this.width / 2, this.height / 2, 1 / this.view.scale); }

  zoomAt(sx, sy, factor) {
    const s = Math.min(64, Math.max(0.02, this.view.scale * factor));
    const k = s / this.view.scale;
    this.setView({ scale: s, x: sx - (sx - this.view.x) * k, y: sy - (sy - this.view.y) * k });
  }

  panBy(dx, dy) { this.setView({ scale: this.view.scale, x: this.view.x + dx, y: this.view.y + dy }); }

  setView(v) {
    this.view = v;
    // Pan/zoom only re-blits the cached layer; the sharp redraw waits for the gesture to pause.
    this.invalidate('view');
    clearTimeout(this.rerenderTimer);
    this.rerenderTimer = setTimeout(() => this.invalidate('statics'), RERENDER_MS);
    this.container.dispatchEvent(new CustomEvent('viewchange', { detail: v }));
  }

  invalidate(what) {
    const d = this.dirty;
    if (what === 'all') { d.image = d.statics = d.blit = d.overlay = true; }
    else if (what === 'view') { d.image = d.blit = d.overlay = true; }
    else if (what === 'statics') { d.statics = d.blit = d.overlay = true; }
    else d[what] = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => this.draw());
  }

  /** Draw dirty layers now (also used by the benchmark to time one frame). */
  draw() {
    this.raf = 0;
    const t0 = performance.now();
    const d = this.dirty;
    if (d.image) this.drawImage();
    if (d.statics) this.renderStatic();
    if (d.blit || d.statics) this.blit();
    if (d.overlay) this.drawOverlay();
    d.image = d.statics = d.blit = d.overlay = false;
    this.stats.frameMs = performance.now() - t0;
  }

  drawImage() {
    const ctx = this.imageCanvas.getContext('2d');
    const { scale, x, y } = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.imageCanvas.width, this.imageCanvas.height);
    if (!this.image) return;
    ctx.imageSmoothingEnabled = scale < 2; // show pixels when zoomed in, as annotators expect
    ctx.setTransform(this.dpr * scale, 0, 0, this.dpr * scale, this.dpr * x, this.dpr * y);
    ctx.drawImage(this.image, 0, 0, this.imageSize.width, this.imageSize.height);
  }

  /** Shapes visible in (or near) the viewport, excluding the selected one, hidden ones and filtered ones. */
  visibleShapes() {
    const m = MARGIN;
    const [x1, y1] = this.toImage(-this.width * m, -this.height * m);
    const [x2, y2] = this.toImage(this.width * (1 + m), this.height * (1 + m));
    const out = [];
    const store = this.store;
    store.index(this.frame).query([x1, y1, x2, y2], (cid) => {
      if (cid === this.editing) return;
      const o = store.get(cid);
      if (!o || o.outside || store.ui.get(cid)?.hidden || !this.filter(o)) return;
      out.push(o);
    });
    return out;
  }

  renderStatic() {
    const t0 = performance.now();
    const ctx = this.cache.getContext('2d');
    const dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.cache.width, this.cache.height);
    ctx.setTransform(dpr, 0, 0, dpr, this.width * MARGIN * dpr, this.height * MARGIN * dpr);
    this.cacheView = { ...this.view };
    const shapes = this.visibleShapes();
    shapes.sort((a, b) => (a.z_order ?? 0) - (b.z_order ?? 0));
    // Batch by colour and style: one path, one fill and one stroke per group instead of per shape.
    const groups = new Map();
    const masks = [];
    for (const o of shapes) {
      if (o.type === 'mask') { masks.push(o); continue; }
      const key = `${this.colorOf(o.label_id)}|${o.occluded ? 1 : 0}|${o.type === 'polyline' || o.type === 'points' || o.type === 'skeleton' ? 'line' : 'area'}`;
      let g = groups.get(key);
      if (!g) { g = []; groups.set(key, g); }
      g.push(o);
    }
    for (const o of masks) this.drawMask(ctx, o, this.opacity * 2.5);
    ctx.lineWidth = 1.5;
    const { scale: k, x: vx, y: vy } = this.view;
    for (const [key, list] of groups) {
      const [color, occluded, kind] = key.split('|');
      // Plain boxes go through fillRect/strokeRect, which the rasteriser handles far faster than one huge path.
      const boxes = kind === 'area' ? list.filter((o) => o.type === 'rectangle' && !o.rotation) : [];
      const others = boxes.length ? list.filter((o) => !(o.type === 'rectangle' && !o.rotation)) : list;
      ctx.setLineDash(occluded === '1' ? [6, 4] : []);
      if (boxes.length) {
        ctx.fillStyle = color; ctx.strokeStyle = color;
        ctx.globalAlpha = this.opacity;
        for (const o of boxes) { const p = o.points; ctx.fillRect(p[0] * k + vx, p[1] * k + vy, (p[2] - p[0]) * k, (p[3] - p[1]) * k); }
        ctx.globalAlpha = 1;
        for (const o of boxes) { const p = o.points; ctx.strokeRect(p[0] * k + vx, p[1] * k + vy, (p[2] - p[0]) * k, (p[3] - p[1]) * k); }
      }
      if (others.length) {
        ctx.beginPath();
        for (const o of others) this.tracePath(ctx, o);
        if (kind === 'area') { ctx.globalAlpha = this.opacity; ctx.fillStyle = color; ctx.fill(); }
        ctx.globalAlpha = 1;
        ctx.strokeStyle = color;
        ctx.stroke();
      }
      ctx.setLineDash([]);
      const pts = list.filter((o) => o.type === 'points' || o.type === 'skeleton');
      if (pts.length) {
        ctx.beginPath();
        for (const o of pts) for (const e of o.type === 'skeleton' ? o.elements : [o]) this.tracePoints(ctx, e.points, 3.5);
        ctx.fillStyle = color;
        ctx.fill();
      }
    }
    if (this.showText && shapes.length <= 300) this.drawTexts(ctx, shapes);
    this.stats.staticMs = performance.now() - t0;
    this.stats.staticCount = shapes.length;
  }

  blit() {
    const ctx = this.shapesCanvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.shapesCanvas.width, this.shapesCanvas.height);
    if (!this.cacheView) return;
    const s = this.view.scale / this.cacheView.scale;
    const mx = this.width * MARGIN; const my = this.height * MARGIN;
    ctx.setTransform(s, 0, 0, s, (this.view.x - (mx + this.cacheView.x) * s) * this.dpr, (this.view.y - (my + this.cacheView.y) * s) * this.dpr);
    ctx.drawImage(this.cache, 0, 0);
  }

  /** Add the outline of one shape to the current path, in screen coordinates of the view. */
  tracePath(ctx, o, view = this.view) {
    const { scale: k, x: vx, y: vy } = view;
    const p = o.points;
    switch (o.type) {
      case 'rectangle': {
        if (!o.rotation) { ctx.rect(p[0] * k + vx, p[1] * k + vy, (p[2] - p[0]) * k, (p[3] - p[1]) * k); return; }
        const c = rectCorners(p, o.rotation);
        ctx.moveTo(c[0][0] * k + vx, c[0][1] * k + vy);
        for (let i = 1; i < 4; i++) ctx.lineTo(c[i][0] * k + vx, c[i][1] * k + vy);
        ctx.closePath();
        return;
      }
      case 'ellipse': {
        const { cx, cy, rx, ry } = ellipseParams(p);
        ctx.moveTo((cx + rx * Math.cos((o.rotation || 0) * DEG)) * k + vx, (cy + rx * Math.sin((o.rotation || 0) * DEG)) * k + vy);
        ctx.ellipse(cx * k + vx, cy * k + vy, rx * k, ry * k, (o.rotation || 0) * DEG, 0, Math.PI * 2);
        return;
      }
      case 'polygon':
      case 'polyline': {
        ctx.moveTo(p[0] * k + vx, p[1] * k + vy);
        for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i] * k + vx, p[i + 1] * k + vy);
        if (o.type === 'polygon') ctx.closePath();
        return;
      }
      case 'skeleton': {
        const els = o.elements || [];
        for (let i = 1; i < els.length; i++) {
          ctx.moveTo(els[i - 1].points[0] * k + vx, els[i - 1].points[1] * k + vy);
          ctx.lineTo(els[i].points[0] * k + vx, els[i].points[1] * k + vy);
        }
        return;
      }
      default:
    }
  }

  tracePoints(ctx, p, r, view = this.view) {
    const { scale: k, x: vx, y: vy } = view;
    for (let i = 0; i < p.length; i += 2) {
      const x = p[i] * k + vx; const y = p[i + 1] * k + vy;
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, Math.PI * 2);
    }
  }

  drawMask(ctx, o, alpha) {
    let m = this.masks.get(o.cid);
    if (!m || m.points !== o.points || m.color !== this.colorOf(o.label_id)) {
      const d = decodeMask(o.points);
      const c = document.createElement('canvas');
      c.width = Math.max(1, d.w); c.height = Math.max(1, d.h);
      const img = c.getContext('2d').createImageData(c.width, c.height);
      const hex = this.colorOf(o.label_id);
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      for (let i = 0; i < d.alpha.length; i++) if (d.alpha[i]) { img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255; }
      c.getContext('2d').putImageData(img, 0, 0);
      m = { points: o.points, color: hex, canvas: c, x: d.x, y: d.y };
      this.masks.set(o.cid, m);
    }
    const { scale: k, x: vx, y: vy } = this.view;
    ctx.globalAlpha = Math.min(1, alpha);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(m.canvas, m.x * k + vx, m.y * k + vy, m.canvas.width * k, m.canvas.height * k);
    ctx.globalAlpha = 1;
  }

  drawTexts(ctx, shapes) {
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    for (const o of shapes) {
      const p = o.type === 'ellipse' ? ellipseToBox(o.points) : o.type === 'mask' ? o.points.slice(-4) : o.points;
      if (!p || p.length < 2) continue;
      const [sx, sy] = this.toScreen(Math.min(p[0], p[2] ?? p[0]), Math.min(p[1], p[3] ?? p[1]));
      const text = this.labelText?.(o) || '';
      if (!text) continue;
      ctx.fillStyle = 'rgba(0,0,0,0.6)';
      ctx.fillRect(sx, sy - 15, ctx.measureText(text).width + 6, 15);
      ctx.fillStyle = '#fff';
      ctx.fillText(text, sx + 3, sy - 1);
    }
  }

  drawOverlay() {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const hover = this.hover != null && this.hover !== this.selected ? this.store.get(this.hover) : null;
    if (hover && hover.frame === this.frame) {
      ctx.beginPath();
      this.tracePath(ctx, hover);
      ctx.lineWidth = 3; ctx.strokeStyle = this.colorOf(hover.label_id); ctx.stroke();
    }
    const sel = this.selectedState();
    if (sel) this.drawSelected(ctx, sel);
    if (this.toolOverlay) this.toolOverlay(ctx, this);
  }

  selectedState() {
    if (this.selected == null) return null;
    if (this.preview && this.preview.cid === this.selected) return this.preview.state;
    const o = this.store.get(this.selected);
    return o && o.frame === this.frame && !this.store.ui.get(this.selected)?.hidden ? o : null;
  }

  drawSelected(ctx, o) {
    const color = this.colorOf(o.label_id);
    if (o.type === 'mask') { this.drawMask(ctx, { ...o, cid: `sel-${o.cid}` }, 0.7); }
    ctx.beginPath();
    this.tracePath(ctx, o);
    if (o.type !== 'polyline' && o.type !== 'points') { ctx.globalAlpha = Math.min(0.6, this.opacity * 2); ctx.fillStyle = color; ctx.fill(); ctx.globalAlpha = 1; }
    ctx.lineWidth = 2.5; ctx.strokeStyle = color; ctx.setLineDash(o.occluded ? [6, 4] : []); ctx.stroke(); ctx.setLineDash([]);
    for (const [, x, y] of this.handlesOf(o)) {
      const [sx, sy] = this.toScreen(x, y);
      ctx.beginPath(); ctx.arc(sx, sy, 4.5, 0, Math.PI * 2);
      ctx.fillStyle = '#fff'; ctx.fill(); ctx.lineWidth = 1.5; ctx.strokeStyle = color; ctx.stroke();
    }
    const rot = this.rotationHandle(o);
    if (rot) {
      const [sx, sy] = rot.screen;
      const [tx, ty] = rot.top;
      ctx.beginPath(); ctx.moveTo(tx, ty); ctx.lineTo(sx, sy); ctx.strokeStyle = color; ctx.lineWidth = 1; ctx.stroke();
      ctx.beginPath(); ctx.arc(sx, sy, 5.5, 0, Math.PI * 2); ctx.fillStyle = color; ctx.fill();
    }
  }

  /** Handles of a shape in image space: [name, x, y]; name is a box handle or a vertex index. */
  handlesOf(o) {
    if (this.store.ui.get(o.cid)?.locked) return [];
    if (o.type === 'rectangle') return boxHandles(o.points, o.rotation || 0);
    if (o.type === 'ellipse') return boxHandles(ellipseToBox(o.points), o.rotation || 0);
    if (o.type === 'polygon' || o.type === 'polyline' || o.type === 'points') {
      const out = [];
      for (let i = 0; i < o.points.length; i += 2) out.push([i / 2, o.points[i], o.points[i + 1]]);
      return out;
    }
    if (o.type === 'skeleton') return (o.elements || []).map((e, i) => [`el${i}`, e.points[0], e.points[1]]);
    return [];
  }

  /** The rotation knob 30 px above the top edge of a box or ellipse, in screen space. */
  rotationHandle(o) {
    if ((o.type !== 'rectangle' && o.type !== 'ellipse') || this.store.ui.get(o.cid)?.locked) return null;
    const b = o.type === 'ellipse' ? ellipseToBox(o.points) : o.points;
    const cx = (b[0] + b[2]) / 2; const cy = (b[1] + b[3]) / 2;
    const a = (o.rotation || 0) * DEG;
    const [tx, ty] = this.toScreen(cx + (cy - b[1]) * Math.sin(a), cy - (cy - b[1]) * Math.cos(a));
    return { top: [tx, ty], screen: [tx + 30 * Math.sin(a), ty - 30 * Math.cos(a)], center: [cx, cy] };
  }
}
