// Canvas 2D renderer: image layer, cached layer of unselected shapes (culled by the grid index), overlay for the selection.
// During pan and zoom the image and shapes layers are not redrawn: they move as bitmaps (a CSS transform the compositor
// applies, off the main thread), drawn with a margin round the viewport; they are drawn again sharp once the gesture pauses.
import { EDGES as CUBOID_EDGES } from './cuboid.js';
import { DEG, bbox, boxHandles, decodeMask, ellipseParams, ellipseToBox, rectCorners } from './geometry.js';

const MARGIN = 0.25; // the cached shapes layer extends this share of the viewport on each side
// The shown image and shapes layers reach this far past the viewport, so moved they still cover it; small, as
// every redraw (each frame of playback) copies the whole layer to the compositor.
const LAYER_MARGIN = 0.1;
const RERENDER_MS = 90; // idle time after pan/zoom before the cached layer is redrawn sharp
const SLICE = 1500; // shapes painted between two checks of the frame budget
const BUDGET_MS = 9; // drawing time per animation frame for a full render, so pan and zoom stay smooth

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
    this.back = document.createElement('canvas'); // a full render after a view change is drawn here, then swapped in
    this.job = null; // the full render in progress: {canvas, view, shapes, text, swap, i}
    this.regions = []; // image-space boxes of the cached layer to repaint (single edits)
    this.reason = 'all';
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
    this.groupMembers = null; // Set of cids being picked for a group (G)
    this.filter = () => true;
    this.colors = new Map();
    this.opacity = 0.2;
    this.showText = true;
    this.masks = new Map();
    this.dirty = { image: true, blit: true, statics: true, overlay: true };
    this.stats = { staticMs: 0, staticCount: 0, frameMs: 0 };
    this.fast = true; // pan/zoom by moving the drawn layers (false: redraw them every frame, for the benchmark's "before")
    this.drawnView = null; // the view the image and shapes layers were drawn for (they are moved from it by a transform)
    this.layersMerged = false; // the shapes are drawn over the image on the image layer (the shapes layer hidden)
    this.merge = false; // draw the shapes onto the image layer on every frame (set while playing)
    this.overlayBlank = false; // the overlay is clear: clearing it again would only cost a copy to the compositor
    this.raf = 0;
    this.rerenderTimer = 0;
    // The frame's shapes in paint order, kept up to date edit by edit: a sharp redraw after a pause then only
    // picks those in view instead of sorting 20,000 shapes again (that was a 50 ms frame).
    this.orderCache = null;
    store.addEventListener('change', (e) => this.patchOrder(e.detail.cid));
    store.addEventListener('reset', () => { this.orderCache = null; });
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(container);
    this.resize();
  }

  /** How far the shown layers reach past the viewport (none when they are redrawn on every view change). */
  get layerMargin() { return this.fast && !this.merge ? LAYER_MARGIN : 0; }

  /**
   * Playing (on) or not: while playing the shapes are drawn onto the image layer, and the layers are only as
   * large as the viewport, so each frame copies one viewport-sized layer to the compositor instead of two.
   */
  setMerge(on) {
    if (this.merge === on) return;
    this.merge = on;
    this.resize();
  }

  /** Move layers during pan and zoom (true) or redraw them every frame (false: the benchmark's "before"). */
  setFast(on) { this.fast = on; this.drawnView = null; this.imageCanvas.style.transform = ''; this.shapesCanvas.style.transform = ''; this.resize(); }

  destroy() { this.ro.disconnect(); cancelAnimationFrame(this.raf); clearTimeout(this.rerenderTimer); }

  resize() {
    const r = this.container.getBoundingClientRect();
    this.width = Math.max(1, r.width);
    this.height = Math.max(1, r.height);
    const m = MARGIN * 2 + 1;
    // The image and shapes layers reach MARGIN past the viewport on each side, so a moved layer still covers it.
    const lm = this.layerMargin * 2 + 1;
    const sizes = [[this.imageCanvas, lm, this.layerMargin], [this.shapesCanvas, lm, this.layerMargin], [this.overlay, 1, 0]];
    for (const [c, k, off] of sizes) {
      c.width = Math.round(this.width * k * this.dpr);
      c.height = Math.round(this.height * k * this.dpr);
      c.style.width = `${this.width * k}px`;
      c.style.height = `${this.height * k}px`;
      c.style.left = `${-this.width * off}px`;
      c.style.top = `${-this.height * off}px`;
      c.style.transformOrigin = `${this.width * off}px ${this.height * off}px`;
    }
    this.overlayBlank = false;
    for (const c of [this.cache, this.back]) {
      c.width = Math.round(this.width * m * this.dpr);
      c.height = Math.round(this.height * m * this.dpr);
    }
    this.cacheView = null;
    this.invalidate('all');
  }

  setImage(img, width, height) {
    this.image = img;
    this.imageSize = { width, height };
    this.levels = img ? [{ scale: 1, src: img }] : []; // the image and its smaller copies (mipmaps), largest first
    this.invalidate('image');
  }

  /**
   * The smallest copy of the image still at least as large as it is shown: drawing a 12-megapixel
   * frame scaled down on every pan step is what costs, not the shapes. Copies are made on demand.
   */
  imageSource(scale) {
    const levels = this.levels;
    const want = Math.max(1 / 16, 2 ** Math.ceil(Math.log2(Math.min(1, scale * this.dpr))));
    const found = levels.filter((l) => l.scale >= want && l.src).at(-1) || levels[0];
    if (found.scale > want && !levels.some((l) => l.scale === want) && window.createImageBitmap) {
      const level = { scale: want, src: null };
      levels.push(level);
      levels.sort((a, b) => b.scale - a.scale);
      const img = this.image;
      createImageBitmap(img, { resizeWidth: Math.max(1, Math.round(this.imageSize.width * want)), resizeHeight: Math.max(1, Math.round(this.imageSize.height * want)), resizeQuality: 'medium' })
        .then((bm) => { if (this.image === img) { level.src = bm; this.invalidate('image'); } })
        .catch(() => {});
    }
    return found.src;
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
    // Pan/zoom only moves the drawn layers (or re-blits the cached one); the sharp redraw waits for the gesture to pause.
    if (this.job?.swap) this.job = null; // a sharp render for a view we already left
    if (!this.moveLayers()) this.invalidate('view');
    else if (!this.overlayBlank) this.invalidate('overlay'); // the selection and handles follow the view
    clearTimeout(this.rerenderTimer);
    this.rerenderTimer = setTimeout(() => { this.invalidate('view'); this.invalidate('statics', 'view'); }, RERENDER_MS);
    this.container.dispatchEvent(new CustomEvent('viewchange', { detail: v }));
  }

  /**
   * Show the image and shapes layers, drawn for drawnView, at the current view by a CSS transform; false when they
   * cannot (nothing drawn yet, a change is pending, or the moved layers would not cover the viewport).
   */
  moveLayers() {
    const d = this.drawnView;
    if (!this.fast || !d || this.dirty.image || this.dirty.blit) return false;
    const v = this.view;
    const s = v.scale / d.scale;
    const tx = v.x - d.x * s; const ty = v.y - d.y * s;
    const W = this.width; const H = this.height; const m = this.layerMargin;
    const covers = tx - s * m * W <= 0 && tx + s * (1 + m) * W >= W && ty - s * m * H <= 0 && ty + s * (1 + m) * H >= H;
    if (!covers || s > 4) return false; // beyond 4x the moved bitmaps look too coarse: draw them again
    if (!this.layersMerged && this.mergeable()) {
      // The gesture moves one layer: the shapes as they are drawn now, over the image.
      this.blit(d, true);
      this.shapesCanvas.style.visibility = 'hidden';
      this.layersMerged = true;
    }
    const t = `translate(${tx}px, ${ty}px) scale(${s})`;
    this.imageCanvas.style.transform = t;
    this.shapesCanvas.style.transform = t;
    return true;
  }

  /** The image and shapes layers are drawn for the current view (the shapes over the image when `merged`): no transform. */
  layersDrawn(merged) {
    this.drawnView = { ...this.view };
    if (this.imageCanvas.style.transform) { this.imageCanvas.style.transform = ''; this.shapesCanvas.style.transform = ''; }
    if (merged !== this.layersMerged) this.shapesCanvas.style.visibility = merged ? 'hidden' : '';
    this.layersMerged = merged;
  }

  invalidate(what, reason = what) {
    const d = this.dirty;
    if (what === 'statics' && !d.statics) this.reason = reason;
    else if (what === 'statics' || what === 'all') this.reason = 'all';
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
    const job = d.job && !d.statics;
    const regions = d.regions && !d.statics;
    d.job = d.regions = false;
    // A moved (transformed) pair of layers is drawn again together, so they never disagree.
    const moved = this.drawnView && (this.drawnView.scale !== this.view.scale || this.drawnView.x !== this.view.x || this.drawnView.y !== this.view.y);
    // While playing, shapes are drawn onto the image layer: one layer copied to the compositor per frame, not two.
    const merge = !!this.merge && this.mergeable();
    if ((moved || merge || this.layersMerged) && (d.image || d.blit || d.statics || regions || job)) d.image = d.blit = true;
    if (d.image) this.drawImage();
    if (d.statics) this.renderStatic();
    else if (job) this.stepJob(t0);
    if (regions) this.repaintRegions();
    if (d.blit || d.statics || regions || job) this.blit(this.view, merge);
    if (d.image || d.blit) this.layersDrawn(merge);
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
    const ox = this.width * this.layerMargin; const oy = this.height * this.layerMargin; // the layer starts left of and above the viewport
    ctx.setTransform(this.dpr * scale, 0, 0, this.dpr * scale, this.dpr * (x + ox), this.dpr * (y + oy));
    ctx.drawImage(this.imageSource(scale), 0, 0, this.imageSize.width, this.imageSize.height);
  }

  /** Shapes visible in (or near) the viewport in paint order, excluding the one being dragged, hidden ones and filtered ones. */
  visibleShapes() {
    const m = MARGIN;
    const [x1, y1] = this.toImage(-this.width * m, -this.height * m);
    const [x2, y2] = this.toImage(this.width * (1 + m), this.height * (1 + m));
    if (!this.fast) return this.ordered(this.shapesIn([x1, y1, x2, y2]));
    const ui = this.store.ui;
    const out = [];
    for (const e of this.frameOrder()) {
      const b = e.box;
      if (b[2] < x1 || b[0] > x2 || b[3] < y1 || b[1] > y2 || e.o.cid === this.editing || ui.get(e.o.cid)?.hidden) continue;
      out.push(e.o);
    }
    return out;
  }

  orderEntry(o) { return { o, z: o.z_order ?? 0, key: this.styleKey(o), box: bbox(o) }; }

  static byPaint(a, b) { return a.z - b.z || (a.key < b.key ? -1 : a.key > b.key ? 1 : a.o.cid - b.o.cid); }

  /** Every shown shape of the frame in paint order (built once per frame and filter, then patched per edit). */
  frameOrder() {
    const c = this.orderCache;
    if (c && c.frame === this.frame && c.filter === this.filter && c.colors === this.colors.size) return c.entries;
    const entries = this.store.onFrame(this.frame).filter((o) => !o.outside && this.filter(o)).map((o) => this.orderEntry(o));
    entries.sort(Renderer.byPaint);
    this.orderCache = { frame: this.frame, filter: this.filter, colors: this.colors.size, entries };
    return entries;
  }

  /** Object `cid` changed: move its entry in the paint order (or drop the order when it is for another frame). */
  patchOrder(cid) {
    const c = this.orderCache;
    if (!c) return;
    if (c.frame !== this.frame || this.store.currentFrame !== this.frame) { this.orderCache = null; return; }
    const i = c.entries.findIndex((e) => e.o.cid === cid);
    if (i >= 0) c.entries.splice(i, 1);
    const o = this.store.get(cid);
    if (!o || o.kind !== 'shape' || o.frame !== this.frame || o.outside || !this.filter(o)) return;
    const e = this.orderEntry(o);
    let lo = 0; let hi = c.entries.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (Renderer.byPaint(c.entries[mid], e) < 0) lo = mid + 1; else hi = mid; }
    c.entries.splice(lo, 0, e);
  }

  /** Shapes drawn in the cached layer whose boxes meet `rect` (image space). */
  shapesIn(rect) {
    const out = [];
    const store = this.store;
    store.index(this.frame).query(rect, (cid) => {
      if (cid === this.editing) return;
      const o = store.get(cid);
      if (!o || o.outside || store.ui.get(cid)?.hidden || !this.filter(o)) return;
      out.push(o);
    });
    return out;
  }

  /** The cached layer's shapes again: progressively (a slice per animation frame) when there are many. */
  renderStatic() {
    const t0 = performance.now();
    const shapes = this.visibleShapes();
    const view = { ...this.view };
    const text = this.showText && shapes.length <= 300;
    // A view change keeps showing the old (scaled) layer until the new one is complete; any other
    // change (frame, filter, style) clears it first so nothing stale is shown.
    const swap = this.reason === 'view' && this.cacheView;
    const canvas = swap ? this.back : this.cache;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!swap) { this.cacheView = view; this.cacheText = text; }
    this.job = { canvas, view, shapes, text, swap, i: 0, edited: [] };
    this.regions = [];
    this.stepJob(t0);
    this.stats.staticCount = shapes.length;
  }

  /** Paint the next slices of the running full render until the frame's budget is spent. */
  stepJob(t0 = performance.now()) {
    const job = this.job;
    if (!job) return;
    const ctx = job.canvas.getContext('2d');
    this.cacheTransform(ctx);
    while (job.i < job.shapes.length) {
      this.paintShapes(ctx, job.shapes.slice(job.i, job.i + SLICE), job.view);
      job.i += SLICE;
      if (performance.now() - t0 > BUDGET_MS) break;
    }
    if (job.i < job.shapes.length) { this.invalidate('job'); return; }
    if (job.text) this.drawTexts(ctx, job.shapes, job.view);
    this.job = null;
    if (job.swap) {
      [this.cache, this.back] = [this.back, this.cache];
      this.cacheView = job.view; this.cacheText = job.text;
      // Objects edited while it was drawn: the slices already painted show them as they were.
      this.regions.push(...job.edited);
      this.repaintRegions();
    }
    this.stats.staticMs = performance.now() - t0;
  }

  cacheTransform(ctx) {
    const dpr = this.dpr;
    ctx.setTransform(dpr, 0, 0, dpr, this.width * MARGIN * dpr, this.height * MARGIN * dpr);
  }

  /**
   * One object changed: repaint only the cached layer around its old and new places (clip, clear,
   * redraw the shapes there in z-order) instead of the whole layer. regions: [[x1, y1, x2, y2]] in image space.
   */
  changed(regions) {
    if (this.job && !this.job.swap) { this.invalidate('statics'); return; }
    this.job?.edited.push(...regions);
    this.regions.push(...regions);
    this.dirty.overlay = true; // the selected object is drawn there
    if (this.regions.length > 64) { this.invalidate('statics'); return; }
    this.invalidate('regions');
  }

  repaintRegions() {
    const t0 = performance.now();
    const view = this.cacheView;
    if (!view) return;
    const ctx = this.cache.getContext('2d');
    const pad = 6; // line width, vertex dots and the dash pattern reach past the box
    const m = MARGIN;
    const { scale: k, x: vx, y: vy } = view;
    for (const r of this.regions) {
      // In cache space (screen space of the cached view), padded; text labels reach up and right of a box.
      let sx1 = r[0] * k + vx - pad; let sy1 = r[1] * k + vy - pad - (this.cacheText ? 16 : 0);
      let sx2 = r[2] * k + vx + pad + (this.cacheText ? 220 : 0); let sy2 = r[3] * k + vy + pad;
      sx1 = Math.max(sx1, -this.width * m); sy1 = Math.max(sy1, -this.height * m);
      sx2 = Math.min(sx2, this.width * (1 + m)); sy2 = Math.min(sy2, this.height * (1 + m));
      if (sx2 <= sx1 || sy2 <= sy1) continue;
      // Shapes whose label text reaches into the clip count too (a label sits above a box's corner, to the right).
      const tx = this.cacheText ? 220 : 0; const ty = this.cacheText ? 16 : 0;
      // Strokes reach past boxes, and the clip is rounded out to whole pixels: look a little wider.
      const e = 3;
      const area = [(sx1 - tx - e - vx) / k, (sy1 - e - vy) / k, (sx2 + e - vx) / k, (sy2 + ty + e - vy) / k];
      const shapes = this.ordered(this.shapesIn(area));
      // Clip to whole device pixels: a fractional clip edge would blend the old and new paint.
      const ox = this.width * m; const oy = this.height * m; const dpr = this.dpr;
      const dx1 = Math.floor((sx1 + ox) * dpr); const dy1 = Math.floor((sy1 + oy) * dpr);
      const dx2 = Math.ceil((sx2 + ox) * dpr); const dy2 = Math.ceil((sy2 + oy) * dpr);
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.beginPath();
      ctx.rect(dx1, dy1, dx2 - dx1, dy2 - dy1);
      ctx.clip();
      ctx.clearRect(dx1, dy1, dx2 - dx1, dy2 - dy1);
      this.cacheTransform(ctx);
      this.paintShapes(ctx, shapes, view);
      if (this.cacheText) this.drawTexts(ctx, shapes, view);
      ctx.restore();
    }
    this.regions = [];
    this.stats.regionMs = performance.now() - t0;
  }

  /**
   * Paint order: z_order, then style (colour, occluded, kind), then age. A full render in slices and
   * the repaint of one region draw any shape in the same order, so both give the same pixels.
   */
  ordered(shapes) {
    const keyed = shapes.map((o) => ({ o, z: o.z_order ?? 0, key: this.styleKey(o) }));
    keyed.sort((a, b) => a.z - b.z || (a.key < b.key ? -1 : a.key > b.key ? 1 : a.o.cid - b.o.cid));
    return keyed.map((k) => k.o);
  }

  styleKey(o) {
    if (o.type === 'mask') return `${this.colorOf(o.label_id)}|0|mask`;
    return `${this.colorOf(o.label_id)}|${o.occluded ? 1 : 0}|${o.type === 'polyline' || o.type === 'points' || o.type === 'skeleton' ? 'line' : 'area'}`;
  }

  /** Draw shapes (in ordered() order) onto ctx in the screen space of `view`: one style change per run. */
  paintShapes(ctx, shapes, view) {
    ctx.lineWidth = 1.5;
    const { scale: k, x: vx, y: vy } = view;
    let i = 0;
    while (i < shapes.length) {
      const key = this.styleKey(shapes[i]);
      let j = i + 1;
      while (j < shapes.length && this.styleKey(shapes[j]) === key) j++;
      const run = shapes.slice(i, j);
      i = j;
      const [color, occluded, kind] = key.split('|');
      if (kind === 'mask') { for (const o of run) this.drawMask(ctx, o, this.opacity * 2.5, view); continue; }
      ctx.setLineDash(occluded === '1' ? [6, 4] : []);
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      // Plain boxes one by one through fillRect/strokeRect (the rasteriser's fastest path); others as one path per run.
      const boxes = kind === 'area' ? run.filter((o) => o.type === 'rectangle' && !o.rotation) : [];
      for (const o of boxes) {
        const p = o.points;
        const x = p[0] * k + vx; const y = p[1] * k + vy; const w = (p[2] - p[0]) * k; const hh = (p[3] - p[1]) * k;
        ctx.globalAlpha = this.opacity; ctx.fillRect(x, y, w, hh);
        ctx.globalAlpha = 1; ctx.strokeRect(x, y, w, hh);
      }
      const others = boxes.length ? run.filter((o) => !(o.type === 'rectangle' && !o.rotation)) : run;
      if (others.length) {
        ctx.beginPath();
        for (const o of others) this.tracePath(ctx, o, view);
        if (kind === 'area') { ctx.globalAlpha = this.opacity; ctx.fill(); }
        ctx.globalAlpha = 1;
        ctx.stroke();
      }
      ctx.setLineDash([]);
      const pts = run.filter((o) => o.type === 'points' || o.type === 'skeleton');
      if (pts.length) {
        ctx.beginPath();
        for (const o of pts) for (const e of o.type === 'skeleton' ? o.elements : [o]) if (!e.outside) this.tracePoints(ctx, e.points, 3.5, view);
        ctx.fill();
      }
    }
  }

  /** The cached shapes onto the shapes layer at `view`; onto the image layer, over the image, when `merged`. */
  blit(view = this.view, merged = false) {
    const canvas = merged ? this.imageCanvas : this.shapesCanvas;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!merged) ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!this.cacheView) return;
    const s = view.scale / this.cacheView.scale;
    const mx = this.width * MARGIN; const my = this.height * MARGIN;
    const lx = this.width * this.layerMargin; const ly = this.height * this.layerMargin;
    // The cache starts MARGIN before the viewport, this layer LAYER_MARGIN before it.
    ctx.setTransform(s, 0, 0, s, (lx + view.x - (mx + this.cacheView.x) * s) * this.dpr, (ly + view.y - (my + this.cacheView.y) * s) * this.dpr);
    ctx.drawImage(this.cache, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  /**
   * Whether shapes may be drawn onto the image layer (one layer for the compositor to move and copy instead of
   * two): not while image adjustments filter that layer, which must not tint the shapes.
   */
  mergeable() {
    const f = this.imageCanvas.style.filter;
    return this.fast && (!f || f === 'brightness(100%) contrast(100%) saturate(100%)');
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
        // The template's edges, between points that are not outside.
        const els = o.elements || [];
        for (const [i, j] of this.skeletonEdges?.(o) || []) {
          if (els[i].outside || els[j].outside) continue;
          ctx.moveTo(els[i].points[0] * k + vx, els[i].points[1] * k + vy);
          ctx.lineTo(els[j].points[0] * k + vx, els[j].points[1] * k + vy);
        }
        return;
      }
      case 'cuboid': {
        for (const [i, j] of CUBOID_EDGES) { ctx.moveTo(p[2 * i] * k + vx, p[2 * i + 1] * k + vy); ctx.lineTo(p[2 * j] * k + vx, p[2 * j + 1] * k + vy); }
        // The front face as a closed outline too, so it is filled like other areas.
        ctx.moveTo(p[0] * k + vx, p[1] * k + vy);
        for (const i of [1, 3, 2]) ctx.lineTo(p[2 * i] * k + vx, p[2 * i + 1] * k + vy);
        ctx.closePath();
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

  drawMask(ctx, o, alpha, view = this.view) {
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
    const { scale: k, x: vx, y: vy } = view;
    ctx.globalAlpha = Math.min(1, alpha);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(m.canvas, m.x * k + vx, m.y * k + vy, m.canvas.width * k, m.canvas.height * k);
    ctx.globalAlpha = 1;
  }

  drawTexts(ctx, shapes, view = this.view) {
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    for (const o of shapes) {
      const p = o.type === 'ellipse' ? ellipseToBox(o.points) : o.type === 'mask' ? o.points.slice(-4) : o.points;
      if (!p || p.length < 2) continue;
      const sx = Math.min(p[0], p[2] ?? p[0]) * view.scale + view.x; const sy = Math.min(p[1], p[3] ?? p[1]) * view.scale + view.y;
      const text = this.labelText?.(o) || '';
      if (!text) continue;
      ctx.fillStyle = 'rgba(0,0,0,0.6)';
      ctx.fillRect(sx, sy - 15, ctx.measureText(text).width + 6, 15);
      ctx.fillStyle = '#fff';
      ctx.fillText(text, sx + 3, sy - 1);
    }
  }

  drawOverlay() {
    const hover = this.hover != null && this.hover !== this.selected ? this.store.get(this.hover) : null;
    const sel = this.selectedState();
    const blank = !(hover && hover.frame === this.frame) && !this.groupMembers && !sel && !this.toolOverlay;
    if (blank && this.overlayBlank && this.fast) return; // already clear: leave the canvas alone
    this.overlayBlank = blank;
    // A clear overlay is not composited (opacity 0; it still takes the pointer): one full-size layer less per frame.
    if (this.fast) this.overlay.style.opacity = blank ? '0' : '';
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (hover && hover.frame === this.frame) {
      ctx.beginPath();
      this.tracePath(ctx, hover);
      ctx.lineWidth = 3; ctx.strokeStyle = this.colorOf(hover.label_id); ctx.stroke();
    }
    if (this.groupMembers) {
      // The objects picked for a new group (G): a white dashed outline each.
      ctx.beginPath();
      for (const cid of this.groupMembers) { const o = this.store.get(cid); if (o && o.frame === this.frame && !o.outside) this.tracePath(ctx, o); }
      ctx.lineWidth = 2; ctx.strokeStyle = '#fff'; ctx.setLineDash([4, 3]); ctx.stroke(); ctx.setLineDash([]);
    }
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
    if (o.type === 'polygon' || o.type === 'polyline' || o.type === 'points' || o.type === 'cuboid') {
      const out = [];
      for (let i = 0; i < o.points.length; i += 2) out.push([i / 2, o.points[i], o.points[i + 1]]);
      return out;
    }
    if (o.type === 'skeleton') return (o.elements || []).flatMap((e, i) => (e.outside ? [] : [[`el${i}`, e.points[0], e.points[1]]]));
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
