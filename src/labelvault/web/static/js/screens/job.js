// Annotation workspace (the job page): wires renderer, tools, panel, shortcuts, undo, autosave and catching up.
import { get, listAll, patch } from '../api.js';
import { setLeaveGuard } from '../router.js';
import { icon } from '../icons.js';
import { errorBox, h, toast } from '../ui.js';
import { mountAiTools } from '../workspace/ai_tools.js';
import { Autosave } from '../workspace/autosave.js';
import { FrameCache, paintFilmstrip } from '../workspace/frames.js';
import { Labels } from '../workspace/labels.js';
import { ObjectsPanel } from '../workspace/panel.js';
import { Renderer } from '../workspace/renderer.js';
import { loadKeymap, showShortcuts } from '../workspace/shortcuts_help.js';
import { AnnotationStore, attrsOut, snapshot } from '../workspace/store.js';
import { Saving } from '../workspace/saving.js';
import { pickTagLabel } from '../workspace/tag_dialog.js';
import { Player, newTrack, propagate, trackAction } from '../workspace/tracks.js';
import { findByName, findFrame } from '../workspace/filters.js';
import { Grouping } from '../workspace/groups.js';
import { Timeline } from '../workspace/timeline.js';
import { edgeIndexes, parseTemplate, placeSkeleton } from '../workspace/skeleton.js';
import { Merging, splitAttributes, splitTrack } from '../workspace/track_edit.js';
import { imageAdjustments } from '../workspace/image_adjust.js';
import { BoxTool } from '../workspace/tools/box.js';
import { BrushTool } from '../workspace/tools/brush.js';
import { PolyTool } from '../workspace/tools/poly.js';
import { attachReview } from '../workspace/review.js';
import { SelectTool } from '../workspace/tools/select.js';

const TOOLS = [
  ['select', 'Select'], ['rectangle', 'Rectangle'], ['polygon', 'Polygon'], ['polyline', 'Polyline'],
  ['points', 'Points'], ['ellipse', 'Ellipse'], ['cuboid', 'Cuboid'], ['skeleton', 'Skeleton'], ['brush', 'Brush'], ['eraser', 'Eraser'],
];

export async function render(el, params, query) {
  const jobId = Number(params.jid);
  let job; let meta; let labels; let data;
  el.append(h('p', { class: 'muted page' }, 'Opening the job…'));
  try {
    [job, meta, labels, data] = await Promise.all([
      get(`/api/jobs/${jobId}`), get(`/api/jobs/${jobId}/data/meta`),
      listAll('/api/labels', { job_id: jobId }), get(`/api/jobs/${jobId}/annotations`),
    ]);
  } catch (err) { el.replaceChildren(errorBox(err, 'Opening the job')); return null; }
  el.replaceChildren();
  const ws = new Workspace(el, job, meta, labels.filter((l) => !l.has_parent), data);
  mountAiTools(ws);
  await ws.start(query.frame != null ? Number(query.frame) : null, data);
  ws.review = attachReview(ws);
  return ws;
}

class Workspace {
  constructor(root, job, meta, labels, data) {
    this.job = job;
    this.meta = meta;
    this.labels = new Labels(labels);
    this.frames = meta.included_frames || range(job.start_frame, job.stop_frame);
    this.frame = this.frames[0];
    this.frameCache = new FrameCache(job.id);
    this.clipboard = null;
    this.store = new AnnotationStore();
    this.store.load(data);
    for (const l of labels) for (const a of l.attributes || []) if (a.mutable) this.store.mutable.add(a.id);
    this.keymap = loadKeymap();
    this.buildDom(root);
    this.renderer = new Renderer(this.canvasBox, this.store);
    this.imageMenu.append(...imageAdjustments(this.renderer.imageCanvas),
      h('label', { class: 'adjust' }, 'Shape opacity', h('input', { type: 'range', min: 0, max: 100, value: 20, 'aria-label': 'Shape opacity', oninput: (e) => { this.renderer.opacity = e.target.value / 100; this.renderer.invalidate('statics'); } })),
      h('label', {}, h('input', { type: 'checkbox', checked: true, 'aria-label': 'Show label names', onchange: (e) => { this.renderer.showText = e.target.checked; this.renderer.invalidate('statics'); } }), ' Label names'));
    // An adjusted image is drawn on its own layer again (merged with the shapes, the filter would tint them too).
    this.imageMenu.addEventListener('input', () => this.renderer.invalidate('view'));
    for (const l of labels) this.renderer.colors.set(l.id, l.color);
    this.renderer.labelText = (o) => this.labels.byId.get(o.label_id)?.name;
    this.templates = new Map(labels.filter((l) => l.type === 'skeleton').map((l) => [l.id, parseTemplate(l)]));
    this.renderer.skeletonEdges = (o) => { const t = this.templates.get(o.label_id); return t ? edgeIndexes(t, o.elements || []) : []; };
    // Tools and the panel get only what they use, not the whole workspace.
    const view = this.renderer;
    const select = (cid, opts) => this.select(cid, opts);
    this.panel = new ObjectsPanel({ store: this.store, view, labels: this.labels, select,
      toggleUi: (cid, key) => this.toggleUi(cid, key), action: (name) => this.action(name) });
    this.panelBox.replaceWith(this.panel.el);
    this.panel.setLabels(labels);
    const tc = { store: this.store, view, labels: this.labels, select, create: (partial) => this.create(partial), clamp: (p) => this.clamp(p) };
    this.tools = {
      select: new SelectTool(tc), rectangle: new BoxTool(tc, 'rectangle'), ellipse: new BoxTool(tc, 'ellipse'),
      polygon: new PolyTool(tc, 'polygon'), polyline: new PolyTool(tc, 'polyline'), points: new PolyTool(tc, 'points'),
      brush: new BrushTool(tc), cuboid: new BoxTool(tc, 'cuboid'), skeleton: new BoxTool(tc, 'skeleton'),
    };
    this.tools.eraser = this.tools.brush;
    this.lastDrawTool = 'rectangle';
    this.trackMode = false;
    this.trackCtx = { store: this.store, frames: this.frames, frame: () => this.frame, goTo: (f) => this.goTo(f), selected: () => this.selectedObject(),
      reselect: (cid) => this.select(cid), onState: (on) => { this.playButton?.setAttribute('aria-pressed', String(on)); this.renderer.setMerge(on); if (!on) this.showPlace(); } };
    this.player = new Player(this.trackCtx);
    this.grouping = new Grouping({ store: this.store, view, selected: () => this.selectedObject() });
    this.merging = new Merging({ store: this.store, view, selected: () => this.selectedObject(), select });
    this.timeline = new Timeline({ frames: this.frames, goTo: (f) => this.goTo(f).then(() => this.select(this.timelineCid)) });
    this.filmstrip.before(this.timeline.el);
    this.autosave = new Autosave(job.id, this.store);
    this.saving = new Saving({ jobId: job.id, store: this.store, autosave: this.autosave, describe: (o) => this.describe(o),
      deselect: () => this.select(null), status: this.saveState, banner: this.banner });
    this.bindEvents();
    window.labelvault = this; // handle for the e2e tests and the benchmark
  }

  buildDom(root) {
    this.frameInput = h('input', { type: 'number', class: 'frame-input', 'aria-label': 'Frame number', min: this.frames[0], max: this.frames.at(-1),
      onchange: (e) => this.goTo(Number(e.target.value)) });
    this.slider = h('input', { type: 'range', 'aria-label': 'Frame slider', min: 0, max: this.frames.length - 1, value: 0,
      oninput: (e) => this.goTo(this.frames[Number(e.target.value)]) });
    this.frameName = h('span', { class: 'muted small frame-name' });
    this.saveState = h('span', { class: 'save-state', role: 'status', 'aria-label': 'Save status', 'aria-live': 'polite' }, 'Saved');
    this.zoomText = h('span', { class: 'muted small', 'aria-label': 'Zoom level' }, '100%');
    const btn = (label, onclick, text = label, extra = {}) => h('button', { type: 'button', 'aria-label': label, title: label, onclick, ...extra }, text);
    this.imageMenu = h('div', { class: 'menu-body' });
    this.toolButtons = new Map();
    const toolbar = h('nav', { class: 'ws-tools', role: 'toolbar', 'aria-label': 'Tools', 'aria-orientation': 'vertical' },
      TOOLS.map(([id, name]) => {
        const b = h('button', { type: 'button', 'aria-label': name, title: name, 'aria-pressed': 'false', onclick: () => this.setTool(id) }, icon(id));
        this.toolButtons.set(id, b);
        return b;
      }),
      this.trackButton = h('button', { type: 'button', class: 'track-toggle', 'aria-label': 'Track', title: 'Track: new shapes become tracks (interpolated between keyframes)', 'aria-pressed': 'false',
        onclick: () => { this.trackMode = !this.trackMode; this.trackButton.setAttribute('aria-pressed', String(this.trackMode)); } }, 'Track'),
      h('hr'),
      btn('Tag', () => this.addTag(), icon('tag')),
      h('label', { class: 'brush-size', title: 'Brush size' }, h('input', { type: 'number', min: 1, max: 300, value: 20, 'aria-label': 'Brush size', onchange: (e) => { this.tools.brush.size = Number(e.target.value) || 20; } })),
      btn('Finish drawing', () => this.action('draw-again'), icon('done')));
    const stateMenu = h('details', { class: 'menu' }, h('summary', {}, 'Menu'),
      h('div', { class: 'menu-body' },
        btn('Finish the job', () => this.setJob({ state: 'completed' }), 'Finish the job'),
        btn('Request a review', () => this.setJob({ stage: 'validation', state: 'new' }), 'Request a review'),
        btn('Renew the job', () => this.setJob({ state: 'in progress' }), 'Renew the job'),
        h('label', {}, h('input', { type: 'checkbox', checked: true, 'aria-label': 'Autosave', onchange: (e) => { this.autosave.enabled = e.target.checked; } }), ' Autosave')));
    const top = h('header', { class: 'ws-top' },
      h('a', { href: `/tasks/${this.job.task_id}`, class: 'back', 'aria-label': 'Back to the task' }, icon('back')),
      h('strong', {}, `Job #${this.job.id}`), h('span', { class: 'muted small task-name', title: this.job.task_name || '' }, this.job.task_name || ''),
      h('span', { class: 'group frames' },
        btn('First frame', () => this.goTo(this.frames[0]), icon('first')), btn('Back 10 frames', () => this.action('backward-step'), icon('back10')),
        btn('Previous frame', () => this.action('prev-frame'), icon('prev')), this.frameInput,
        this.playButton = btn('Play', () => this.action('play'), '▶', { 'aria-pressed': 'false' }),
        h('select', { 'aria-label': 'Playback speed', title: 'Playback speed (frames per second)', onchange: (e) => { this.player.fps = Number(e.target.value); } },
          [1, 2, 5, 10, 15, 25, 30, 60].map((n) => h('option', { value: n, selected: n === 10 }, `${n} fps`))),
        btn('Next frame', () => this.action('next-frame'), icon('next')), btn('Forward 10 frames', () => this.action('forward-step'), icon('fwd10')),
        btn('Last frame', () => this.goTo(this.frames.at(-1)), icon('last')), this.slider, this.frameName),
      h('span', { class: 'group' },
        btn('Zoom in', () => this.renderer.zoomAt(this.renderer.width / 2, this.renderer.height / 2, 1.25), icon('zoomIn')),
        btn('Zoom out', () => this.renderer.zoomAt(this.renderer.width / 2, this.renderer.height / 2, 0.8), icon('zoomOut')),
        btn('Fit image', () => this.renderer.fit(), 'Fit'), btn('Actual size', () => this.renderer.actualSize(), '1:1'), this.zoomText),
      h('details', { class: 'menu' }, h('summary', {}, 'Image'), this.imageMenu),
      h('details', { class: 'menu' }, h('summary', {}, 'Go'), h('div', { class: 'menu-body' },
        h('input', { type: 'search', placeholder: 'File name…', 'aria-label': 'Find frame by file name', onkeydown: (e) => { if (e.key === 'Enter') this.findByName(e.target.value); } }),
        btn('Next frame with objects', () => this.action('next-with-objects'), 'Next frame with objects'),
        btn('Next frame without objects', () => this.action('next-empty'), 'Next frame without objects'))),
      btn('Fullscreen', () => this.action('fullscreen'), icon('fullscreen')),
      h('span', { class: 'spacer' }),
      btn('Undo', () => this.action('undo'), icon('undo')), btn('Redo', () => this.action('redo'), icon('redo')),
      btn('Save', () => this.action('save'), 'Save'), this.saveState,
      btn('Keyboard shortcuts', () => this.action('help'), icon('keyboard')), stateMenu);
    this.banner = h('div', { class: 'banner', role: 'alert', hidden: true });
    this.canvasBox = h('div', { class: 'ws-canvas' });
    this.panelBox = h('div');
    this.filmstrip = h('nav', { class: 'ws-filmstrip', 'aria-label': 'Filmstrip' });
    this.root = h('div', { class: 'workspace' }, top, this.banner, h('div', { class: 'ws-main' }, toolbar, this.canvasBox, this.panelBox), this.filmstrip);
    root.append(this.root);
    document.body.classList.add('in-workspace');
  }

  async start(frame, data) {
    this.setTool('select');
    await this.saving.restoreJournals(data);
    await this.goTo(frame != null && this.frames.includes(frame) ? frame : this.frames[0], { fit: true });
  }

  bindEvents() {
    const o = this.renderer.overlay;
    const pt = (e) => this.renderer.toImage(e.offsetX, e.offsetY);
    o.addEventListener('pointerdown', (e) => {
      o.focus({ preventScroll: true });
      o.setPointerCapture(e.pointerId);
      if (e.button === 1 || e.button === 2 || this.spaceDown) { this.panning = true; this.spacePanned = this.spaceDown; return; }
      if (e.button !== 0) return;
      const picker = this.grouping.active ? this.grouping : this.merging.active ? this.merging : null;
      if (picker) { const hit = this.tools.select.hitAt(...pt(e)); if (hit) picker.click(hit.cid); return; }
      this.tool.onDown(e, pt(e));
    });
    o.addEventListener('pointermove', (e) => {
      if (this.panning) { this.renderer.panBy(e.movementX, e.movementY); return; }
      this.tool.onMove(e, pt(e));
      if (this.tool !== this.tools.select) this.renderer.invalidate('overlay');
    });
    o.addEventListener('pointerup', (e) => {
      if (this.panning) { this.panning = false; return; }
      this.tool.onUp(e, pt(e));
    });
    o.addEventListener('contextmenu', (e) => e.preventDefault());
    o.addEventListener('wheel', (e) => {
      e.preventDefault();
      // Zoom around the cursor: the image point under it stays put.
      this.renderer.zoomAt(e.offsetX, e.offsetY, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
    }, { passive: false });
    this.canvasBox.addEventListener('viewchange', (e) => { this.zoomText.textContent = `${Math.round(e.detail.scale * 100)}%`; });

    this.onKeyDown = (e) => this.keydown(e);
    this.onKeyUp = (e) => {
      if (e.key !== ' ' || !this.spaceDown) return;
      this.spaceDown = false;
      this.renderer.overlay.style.cursor = this.tool.cursor;
      if (!this.spacePanned && !document.querySelector('dialog[open]')) this.action(this.keymap.map.play.keys.includes('Space') ? 'play' : 'none');
    };
    window.addEventListener('keydown', this.onKeyDown);
    window.addEventListener('keyup', this.onKeyUp);
    this.store.addEventListener('change', (e) => { this.renderer.changed(e.detail.regions); this.panelRefreshSoon(e.detail.cid); });
    this.store.addEventListener('reset', () => { this.renderer.invalidate('statics'); this.panel.refresh(); });
    this.store.addEventListener('refused', () => this.panel.refresh());
    this.store.addEventListener('confirm', () => this.panel.refresh(new Set())); // new objects' rows show their ids
    this.onBeforeUnload = (e) => {
      if (this.store.hasUnsaved) { this.autosave.flushOnUnload(); e.preventDefault(); e.returnValue = ''; }
    };
    window.addEventListener('beforeunload', this.onBeforeUnload);
    setLeaveGuard(() => { if (this.store.hasUnsaved) this.autosave.save(); return true; });
  }

  /** Refresh the object list on the next frame: only the rows of `cid` (and others changed meanwhile) when given. */
  panelRefreshSoon(cid = null) {
    if (cid == null) this.panelChanged = null;
    else if (!this.panelPending || this.panelChanged) (this.panelChanged ||= new Set()).add(cid);
    if (this.panelPending) return;
    this.panelPending = true;
    requestAnimationFrame(() => { const changed = this.panelChanged; this.panelPending = false; this.panelChanged = null; this.panel.refresh(changed); this.paintTimeline(); });
  }

  describe(o) {
    if (!o) return 'an object';
    const id = o.id ?? null;
    return `${this.labels.byId.get(o.label_id)?.name || 'object'} ${o.kind === 'tag' ? 'tag' : o.type}${id != null ? ` #${id}` : ''} on frame ${o.frame}`;
  }

  destroy() {
    this.autosave.flushOnUnload();
    this.autosave.destroy();
    this.renderer.destroy();
    window.removeEventListener('keydown', this.onKeyDown);
    window.removeEventListener('keyup', this.onKeyUp);
    window.removeEventListener('beforeunload', this.onBeforeUnload);
    document.body.classList.remove('in-workspace');
    if (window.labelvault === this) delete window.labelvault;
  }

  // ---- frames ---------------------------------------------------------------------------------

  loadImage(frame) { return this.frameCache.load(frame); }

  frameInfo(frame) { return this.meta.frames[this.frames.indexOf(frame)] || this.meta.frames[0] || { width: 1, height: 1, name: '' }; }

  async goTo(frame, { fit = false } = {}) {
    frame = Math.max(this.frames[0], Math.min(this.frames.at(-1), frame));
    if (!this.frames.includes(frame)) frame = this.frames.find((f) => f >= frame) ?? this.frames.at(-1);
    if (frame !== this.frame && this.store.hasUnsaved) this.autosave.save(); // save when leaving a frame
    const first = this.renderer.image == null;
    this.tool.cancel?.();
    this.frame = frame;
    this.store.currentFrame = frame;
    const keep = this.selectedObject()?.track ? this.renderer.selected : null; // a track stays selected across frames
    const info = this.frameInfo(frame);
    const sizeChanged = this.renderer.imageSize.width !== info.width || this.renderer.imageSize.height !== info.height;
    this.renderer.setFrame(frame);
    this.renderer.selected = keep;
    this.frameInput.value = frame;
    this.slider.value = this.frames.indexOf(frame);
    this.frameName.textContent = info.name || '';
    // While playing, the address and the filmstrip wait for the pause (browsers throttle replaceState).
    if (!this.player?.playing) this.showPlace();
    // While playing, the object list follows four times a second (and at the pause), not every frame.
    if (!this.player?.playing || performance.now() - (this.panelAt || 0) > 250) { this.panel.refresh(); this.panelAt = performance.now(); }
    this.paintTimeline();
    try {
      const img = await this.loadImage(frame);
      if (this.frame !== frame) return;
      this.renderer.setImage(img, info.width || img.naturalWidth || img.width, info.height || img.naturalHeight || img.height);
    } catch {
      toast(`Frame ${frame} could not be loaded.`, 'error');
      this.renderer.setImage(null, info.width, info.height);
    }
    if (fit || first || sizeChanged) this.renderer.fit();
    // Look further ahead while playing: several frames load in parallel, so playback waits less for each.
    const ahead = this.player?.playing ? 8 : 2;
    for (let n = 1; n <= ahead; n++) { const f = this.frames[this.frames.indexOf(frame) + n]; if (f != null) this.loadImage(f).catch(() => {}); }
    this.root.dataset.frame = frame;
  }

  showPlace() {
    this.panel.refresh();
    history.replaceState(null, '', `/tasks/${this.job.task_id}/jobs/${this.job.id}${this.frame !== this.frames[0] ? `?frame=${this.frame}` : ''}`);
    this.paintFilmstrip();
  }

  paintFilmstrip() { paintFilmstrip(this.filmstrip, this.job.id, this.frames, this.frame, (f) => this.goTo(f)); }

  // ---- tools and objects ---------------------------------------------------------------------

  setTool(id) {
    this.tool?.cancel?.();
    const tool = this.tools[id];
    this.renderer.toolOverlay = null;
    this.tool = tool;
    if (id === 'brush' || id === 'eraser') tool.erase = id === 'eraser';
    tool.activate();
    this.toolId = id;
    if (id !== 'select') { this.lastDrawTool = id; this.select(null); }
    for (const [k, b] of this.toolButtons) b.setAttribute('aria-pressed', String(k === id));
    this.renderer.overlay.style.cursor = tool.cursor;
    this.renderer.invalidate('overlay');
  }

  clamp([x, y]) {
    const { width, height } = this.renderer.imageSize;
    return [Math.max(0, Math.min(width, x)), Math.max(0, Math.min(height, y))];
  }

  create(partial) {
    const label = this.labels.forType(partial.type);
    if (!label) { toast(partial.type === 'skeleton' ? 'Add a skeleton label to the task or project first.' : 'Add a label to the task or project first.', 'error'); return null; }
    if (partial.type === 'skeleton') {
      // The label's template placed in the drawn box: one point element per skeleton point.
      const { box, ...rest } = partial;
      partial = { ...rest, elements: placeSkeleton(this.templates.get(label.id), box, this.frame) };
    }
    // CVAT draws masks as shapes only (it has no mask tracks: its server refuses to interpolate them).
    const asTrack = this.trackMode && partial.type !== 'mask';
    if (this.trackMode && !asTrack) toast('Masks are shapes, as in CVAT: there are no mask tracks.', 'info', 2500);
    const z = this.store.topZ(this.frame);
    const shape = { kind: 'shape', frame: this.frame, label_id: label.id, occluded: false, outside: false, z_order: z, rotation: 0,
      attributes: this.labels.defaults(label), group: 0, source: 'manual', elements: [], ...partial };
    let after = shape;
    if (asTrack) {
      // Mutable attributes belong to the keyframes of a track, the others to the whole track (as in CVAT).
      const attrs = splitAttributes(shape.attributes, this.store.mutable);
      after = newTrack({ ...shape, attributes: attrs.track });
      after.shapes[0].attributes = attrsOut(attrs.frame);
    }
    const [cid] = this.store.commit(`Draw ${after.kind === 'track' ? 'track' : partial.type}`, [{ after }]);
    this.select(cid); // selected at once, so its attributes can be set without a click (as in CVAT)
    return cid;
  }

  /** The Tag tool asks for the label: the drawing label is often one that cannot be a tag. */
  async addTag() {
    const frame = this.frame;
    const label = await pickTagLabel(this.labels.list);
    if (!label) return;
    const [cid] = this.store.commit('Tag', [{ after: { kind: 'tag', type: 'tag', frame, label_id: label.id, attributes: this.labels.defaults(label), group: 0, source: 'manual' } }]);
    if (frame === this.frame) this.select(cid);
  }

  select(cid, { focus = false } = {}) {
    const r = this.renderer;
    if (r.selected === cid) return;
    r.selected = cid;
    r.preview = null;
    r.invalidate('overlay');
    this.panel.refresh(new Set()); // the rows' selection and the details, not the whole list
    this.paintTimeline();
    if (focus && cid != null) this.panel.scrollTo(cid);
  }

  toggleUi(cid, key) {
    const ui = this.store.uiOf(cid);
    ui[key] = !ui[key];
    const place = this.store.placeOf(cid);
    if (place) this.renderer.changed([place]);
    this.panel.refresh(new Set([cid]));
  }

  async setJob(body) {
    try {
      if (this.store.hasUnsaved) await this.autosave.save();
      this.job = await patch(`/api/jobs/${this.job.id}`, body);
      toast(`Job is now ${this.job.stage} / ${this.job.state}`, 'success');
    } catch (e) { toast(e.message, 'error'); }
  }

  // ---- keyboard --------------------------------------------------------------------------------

  keydown(e) {
    if (document.querySelector('dialog[open]')) return;
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)) && !(t.type === 'range' || t.type === 'checkbox');
    const action = this.keymap.action(e);
    if (typing && !(action === 'save' || e.key === 'Escape')) return;
    if (e.key === ' ' && !typing) {
      // Space tapped plays/pauses (as in CVAT); held while dragging, it pans.
      if (!e.repeat) { this.spaceDown = true; this.spacePanned = false; }
      this.renderer.overlay.style.cursor = 'grab'; e.preventDefault(); return;
    }
    if (this.tool.onKey && !e.ctrlKey && !e.metaKey && this.tool.onKey(e)) { e.preventDefault(); return; }
    if (!action) return;
    e.preventDefault();
    this.action(action);
  }

  selectedObject() { const c = this.renderer.selected; return c != null ? this.store.get(c) : null; }

  action(name) {
    if (trackAction(name, this.trackCtx)) return null;
    const sel = this.selectedObject();
    const step = (n) => { const i = this.frames.indexOf(this.frame); this.goTo(this.frames[Math.max(0, Math.min(this.frames.length - 1, i + n))]); };
    switch (name) {
      case 'next-frame': return step(1);
      case 'prev-frame': return step(-1);
      case 'forward-step': return step(10);
      case 'backward-step': return step(-10);
      case 'save': return this.saving.saveNow();
      case 'undo': case 'redo': {
        this.tool.cancel?.();
        const e = name === 'undo' ? this.store.undo() : this.store.redo();
        if (e) toast(`${name === 'undo' ? 'Undid' : 'Redid'}: ${e.label}`, 'info', 1500);
        if (this.renderer.selected != null && !this.store.get(this.renderer.selected)) this.select(null);
        // Undo may touch another frame: show it, as CVAT does.
        const f = e?.changes.map((c) => (name === 'undo' ? c.before : c.after) || (name === 'undo' ? c.after : c.before)).find(Boolean)?.frame;
        if (f != null && f !== this.frame) this.goTo(f);
        return null;
      }
      case 'cancel':
        if (this.grouping.active) this.grouping.stop(); else if (this.merging.active) this.merging.stop(); else if (this.tool.busy()) this.tool.cancel(); else if (this.toolId !== 'select') this.setTool('select'); else this.select(null);
        return null;
      case 'draw-again':
        if (this.tool.busy() && this.tool.finish) { this.tool.finish(); return null; }
        if (this.toolId === 'select') this.setTool(this.lastDrawTool);
        return null;
      case 'delete': case 'force-delete':
        if (sel && (name === 'force-delete' || !this.store.ui.get(sel.cid)?.locked)) { this.store.commit('Delete', [{ cid: sel.cid, after: null }]); this.select(null); }
        return null;
      case 'lock': if (sel) this.toggleUi(sel.cid, 'locked'); return null;
      case 'hide': if (sel) this.toggleUi(sel.cid, 'hidden'); return null;
      case 'occluded': if (sel?.kind === 'shape') this.store.update(sel.cid, { occluded: !sel.occluded }, 'Occluded'); return null;
      case 'z-back': case 'z-front': {
        if (sel?.kind !== 'shape') return null;
        const zs = this.store.onFrame(this.frame).map((o) => o.z_order ?? 0);
        this.store.update(sel.cid, { z_order: name === 'z-front' ? Math.max(...zs) + 1 : Math.min(...zs) - 1 }, 'Z-order');
        return null;
      }
      case 'copy': if (sel) { this.clipboard = snapshot(sel); toast('Copied', 'info', 1200); } return null;
      case 'paste': {
        if (!this.clipboard) return null;
        const [cid] = this.store.commit('Paste', [{ after: { ...this.clipboard, frame: this.frame } }]);
        this.select(cid);
        return null;
      }
      case 'propagate': return sel ? propagate(sel, this.trackCtx) : null;
      case 'group': return this.grouping.toggle();
      case 'merge': return this.merging.toggle();
      case 'split': {
        const parts = sel?.track ? splitTrack(this.store.objects.get(sel.cid), this.frame) : null;
        if (!parts) { toast('Select a track on a frame after its first keyframe to split it', 'info', 2500); return null; }
        const [, second] = this.store.commit('Split track', [{ cid: sel.cid, after: parts[0] }, { after: parts[1] }]);
        this.select(second);
        return null;
      }
      case 'ungroup': return this.grouping.reset();
      case 'next-match': case 'prev-match': {
        const f = this.renderer.filter;
        return this.jump(findFrame(this.frames, this.frame, name === 'next-match' ? 1 : -1, this.store, (objs) => objs.some(f)), 'No other frame has objects matching the filter');
      }
      case 'next-with-objects': return this.jump(findFrame(this.frames, this.frame, 1, this.store, (objs) => objs.length > 0), 'No later frame has objects');
      case 'next-empty': return this.jump(findFrame(this.frames, this.frame, 1, this.store, (objs) => objs.length === 0), 'No later frame is without objects');
      case 'hide-all': case 'lock-all': return this.toggleAll(name === 'hide-all' ? 'hidden' : 'locked');
      case 'fullscreen':
        if (document.fullscreenElement) document.exitFullscreen(); else this.root.requestFullscreen?.().catch(() => toast('Fullscreen is not allowed here', 'error'));
        return null;
      case 'play': return this.player.toggle();
      case 'zoom-fit': return this.renderer.fit();
      case 'help': return this.help();
      case 'next-object': case 'prev-object': {
        const items = this.panel.items;
        if (!items.length) return null;
        const i = items.findIndex((o) => o.cid === this.renderer.selected);
        const n = items[(i + (name === 'next-object' ? 1 : items.length - 1)) % items.length];
        this.select(n.cid, { focus: true });
        return null;
      }
      default:
        if (name.startsWith('draw-label-')) {
          // 1–9: the label of the next drawn objects (Ctrl+1–9 also relabels the selected one).
          const l = this.labels.list[Number(name.slice(11)) - 1];
          if (!l) return null;
          this.labels.currentId = l.id;
          this.panel.drawLabel.value = String(l.id);
          toast(`Drawing label: ${l.name}`, 'info', 1200);
          return null;
        }
        if (name.startsWith('label-')) {
          const l = this.labels.list[Number(name.slice(6)) - 1];
          if (!l) return null;
          this.labels.currentId = l.id;
          this.panel.drawLabel.value = String(l.id);
          if (sel) this.store.update(sel.cid, { label_id: l.id, attributes: this.labels.defaults(l) }, 'Change label');
          toast(`Label: ${l.name}`, 'info', 1200);
        }
        return null;
    }
  }

  paintTimeline() {
    const o = this.selectedObject();
    this.timelineCid = o?.track ? o.cid : null;
    this.timeline.paint(o?.track ? this.store.objects.get(o.cid) : null, this.frame);
  }

  jump(frame, none) { if (frame == null) { toast(none, 'info', 2000); return null; } return this.goTo(frame); }

  findByName(text) {
    const names = this.frames.map((f) => this.frameInfo(f).name || '');
    this.jump(findByName(this.frames, names, this.frame, text), `No frame's file name contains "${text}"`);
  }

  /** Hide (or lock) every object on the frame; when all already are, show (unlock) them all. */
  toggleAll(key) {
    const objs = this.store.onFrame(this.frame);
    const on = !objs.every((o) => this.store.uiOf(o.cid)[key]);
    for (const o of objs) this.store.uiOf(o.cid)[key] = on;
    this.renderer.invalidate('statics');
    this.panel.refresh(new Set());
  }

  help() { showShortcuts(this.keymap, (km) => { this.keymap = km; }); }
}

function range(a, b) { const out = []; for (let i = a; i <= b; i++) out.push(i); return out; }
