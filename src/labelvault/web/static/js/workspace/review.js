// Review mode of the workspace: issue regions on frames, their comments, resolve/reopen, jumping between issues, accept/reject.
// Attached by screens/job.js with one call; it reaches the workspace only through ws.{job, frame, frames, tools,
// toolButtons, setTool, goTo, setJob, renderer, canvasBox, root, panel} and draws on a layer of its own.
import { del, listAll, patch, post } from '../api.js';
import { h, modal, toast } from '../ui.js';
import { rectFrom } from './geometry.js';

const OPEN = '#ff4d4f';
const RESOLVED = '#52c41a';

export function attachReview(ws) {
  if (!document.querySelector('link[data-review-css]')) {
    document.head.append(h('link', { rel: 'stylesheet', href: '/static/css/review.css', 'data-review-css': '' }));
  }
  const review = new Review(ws);
  review.load();
  return review;
}

/** Draws an issue's region by dragging, or by two clicks, as the rectangle tool does. */
class IssueTool {
  constructor(ws, done) { this.ws = ws; this.done = done; this.start = null; this.cur = null; }

  get cursor() { return 'crosshair'; }
  activate() { this.ws.renderer.toolOverlay = (ctx, r) => this.draw(ctx, r); }
  cancel() { this.start = null; this.pressing = false; this.ws.renderer.invalidate('overlay'); }
  busy() { return !!this.start; }
  finish() { return false; }
  clamp(p) { return this.ws.clamp(p); }

  onDown(e, p) {
    if (this.start && !this.pressing) { this.complete(p); return; }
    this.start = this.clamp(p);
    this.cur = this.start;
    this.downAt = [e.offsetX, e.offsetY];
    this.pressing = true;
  }

  onMove(_e, p) { this.cur = this.clamp(p); }

  onUp(e, p) {
    if (!this.pressing) return;
    this.pressing = false;
    if (Math.hypot(e.offsetX - this.downAt[0], e.offsetY - this.downAt[1]) > 5) this.complete(p);
  }

  complete(p) {
    const [x2, y2] = this.clamp(p);
    const box = rectFrom(this.start[0], this.start[1], x2, y2);
    this.cancel();
    if (box[2] - box[0] >= 1 && box[3] - box[1] >= 1) this.done(box);
  }

  draw(ctx, r) {
    if (!this.start || !this.cur) return;
    const [a, b] = r.toScreen(...this.start);
    const [c, d] = r.toScreen(...this.cur);
    ctx.strokeStyle = OPEN; ctx.lineWidth = 2; ctx.setLineDash([6, 3]);
    ctx.strokeRect(a, b, c - a, d - b);
    ctx.setLineDash([]);
  }
}

class Review {
  constructor(ws) {
    this.ws = ws;
    this.issues = [];
    this.current = null;
    ws.tools.issue = new IssueTool(ws, (box) => this.create(box));
    const toolButton = h('button', { type: 'button', 'aria-label': 'Open an issue', title: 'Open an issue: draw the region it is about',
      'aria-pressed': 'false', class: 'issue-tool', onclick: () => ws.setTool('issue') }, '⚑');
    ws.toolButtons.set('issue', toolButton);
    ws.root.querySelector('.ws-tools hr')?.before(toolButton);

    this.layer = h('canvas', { class: 'layer layer-issues', 'aria-hidden': 'true' });
    ws.canvasBox.append(this.layer);
    ws.canvasBox.addEventListener('viewchange', () => this.paint());
    new ResizeObserver(() => this.paint()).observe(ws.canvasBox);
    // The workspace marks the shown frame on its root: follow it without a hook in goTo.
    new MutationObserver(() => { this.paint(); this.paintList(); }).observe(ws.root, { attributes: true, attributeFilter: ['data-frame'] });

    const btn = (label, onclick, text = label) => h('button', { type: 'button', 'aria-label': label, title: label, onclick }, text);
    this.count = h('span', { class: 'muted small', 'aria-live': 'polite' });
    this.list = h('ul', { class: 'issue-list', 'aria-label': 'Issues' });
    this.detail = h('div', { class: 'issue-detail', 'aria-label': 'Selected issue' });
    this.jobState = h('span', { class: 'muted small', 'aria-label': 'Job stage and state' });
    this.el = h('section', { class: 'review', 'aria-label': 'Review' },
      h('div', { class: 'row' }, h('strong', {}, 'Issues'), this.count, h('span', { class: 'spacer' }),
        btn('Previous issue', () => this.step(-1), '‹'), btn('Next issue', () => this.step(1), '›')),
      this.list, this.detail,
      h('div', { class: 'row' }, this.jobState),
      h('div', { class: 'row' }, btn('Accept the job', () => this.decide({ stage: 'acceptance', state: 'completed' }), 'Accept'),
        btn('Reject the job', () => this.decide({ stage: 'annotation', state: 'rejected' }), 'Reject')));
    ws.panel.el.append(this.el);
    this.showJob();
  }

  async load() {
    try {
      this.issues = await listAll('/api/issues', { job_id: this.ws.job.id });
    } catch (e) { toast(`Issues could not be loaded: ${e.message}`, 'error'); return; }
    this.sortIssues();
    this.paintList();
    this.paint();
  }

  sortIssues() { this.issues.sort((a, b) => a.frame - b.frame || a.id - b.id); }

  showJob() { this.jobState.textContent = `Job: ${this.ws.job.stage} · ${this.ws.job.state}`; }

  async decide(body) {
    await this.ws.setJob(body);
    this.showJob();
  }

  // ---- issues ---------------------------------------------------------------------------------

  async create(box) {
    this.ws.setTool('select');
    const message = await askMessage();
    if (!message) return;
    try {
      const issue = await post('/api/issues', { job: this.ws.job.id, frame: this.ws.frame, position: box, message });
      this.issues.push(issue);
      this.sortIssues();
      toast(`Issue #${issue.id} opened`, 'success', 2000);
      await this.choose(issue);
    } catch (e) { toast(e.message, 'error'); }
  }

  async choose(issue) {
    this.current = issue;
    if (issue && issue.frame !== this.ws.frame) await this.ws.goTo(issue.frame);
    this.paintList();
    this.paint();
    await this.paintDetail();
  }

  step(n) {
    if (!this.issues.length) return;
    const i = this.issues.indexOf(this.current);
    const next = i < 0 ? (n > 0 ? 0 : this.issues.length - 1) : (i + n + this.issues.length) % this.issues.length;
    this.choose(this.issues[next]);
  }

  replace(updated) {
    const i = this.issues.findIndex((x) => x.id === updated.id);
    if (i >= 0) this.issues[i] = updated;
    if (this.current?.id === updated.id) this.current = updated;
  }

  async setResolved(issue, resolved) {
    try {
      this.replace(await patch(`/api/issues/${issue.id}`, { resolved }));
      toast(`Issue #${issue.id} ${resolved ? 'resolved' : 'reopened'}`, 'success', 2000);
    } catch (e) { toast(e.message, 'error'); }
    await this.choose(this.current);
  }

  async comment(issue, input) {
    const message = input.value.trim();
    if (!message) return;
    try {
      await post('/api/comments', { issue: issue.id, message });
      this.replace({ ...issue, comments: { ...issue.comments, count: issue.comments.count + 1 } });
    } catch (e) { toast(e.message, 'error'); return; }
    await this.paintDetail();
  }

  async remove(issue) {
    try { await del(`/api/issues/${issue.id}`); } catch (e) { toast(e.message, 'error'); return; }
    this.issues = this.issues.filter((x) => x.id !== issue.id);
    await this.choose(null);
  }

  // ---- drawing ----------------------------------------------------------------------------------

  paintList() {
    const open = this.issues.filter((x) => !x.resolved).length;
    const text = `${open} open · ${this.issues.length - open} resolved`;
    // Called on every frame shown (playback too): touch the DOM only when something is to change.
    if (this.count.textContent !== text) this.count.textContent = text;
    if (!this.issues.length && !this.list.childElementCount) return;
    this.list.replaceChildren(...this.issues.map((x) => h('li', {},
      h('button', { type: 'button', class: `issue-row${x.resolved ? ' resolved' : ''}${x.frame === this.ws.frame ? ' here' : ''}`,
        'aria-current': String(this.current?.id === x.id), onclick: () => this.choose(x) },
      `#${x.id} · frame ${x.frame} · ${x.resolved ? 'resolved' : 'open'}`))));
  }

  async paintDetail() {
    const issue = this.current;
    if (!issue) { this.detail.replaceChildren(); return; }
    let comments = [];
    try { comments = await listAll('/api/comments', { issue_id: issue.id }); } catch (e) { toast(e.message, 'error'); }
    comments.sort((a, b) => a.id - b.id);
    const input = h('textarea', { rows: 2, 'aria-label': 'Reply', placeholder: 'Reply…' });
    this.detail.replaceChildren(
      h('div', { class: 'row' }, h('strong', {}, `Issue #${issue.id}`), h('span', { class: 'muted small' }, issue.resolved ? 'resolved' : 'open')),
      h('ol', { class: 'comments', 'aria-label': 'Comments' }, comments.map((c) => h('li', {},
        h('span', { class: 'muted small' }, `${c.owner?.username || '?'}: `), c.message))),
      input,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => this.comment(issue, input) }, 'Send comment'),
        issue.resolved
          ? h('button', { type: 'button', onclick: () => this.setResolved(issue, false) }, 'Reopen')
          : h('button', { type: 'button', onclick: () => this.setResolved(issue, true) }, 'Resolve'),
        h('button', { type: 'button', 'aria-label': 'Delete the issue', onclick: () => this.remove(issue) }, 'Delete')));
  }

  paint() {
    const r = this.ws.renderer;
    const dpr = window.devicePixelRatio || 1;
    // The renderer's size, not the box's: reading clientWidth on every frame of playback forced a layout each time.
    const w = r.width; const hgt = r.height;
    const here = this.issues.filter((i) => i.frame === this.ws.frame);
    const resized = this.layer.width !== Math.round(w * dpr) || this.layer.height !== Math.round(hgt * dpr);
    // No issue here and nothing drawn: leave the layer alone (clearing it still costs a copy to the compositor).
    if (!here.length && this.blank && !resized && r.fast) return;
    this.blank = !here.length;
    this.layer.hidden = this.blank && r.fast; // an empty layer is not composited
    if (resized) {
      this.layer.width = Math.round(w * dpr); this.layer.height = Math.round(hgt * dpr);
      this.layer.style.width = `${w}px`; this.layer.style.height = `${hgt}px`;
    }
    const ctx = this.layer.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.layer.width, this.layer.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (const issue of here) {
      const pts = [];
      for (let i = 0; i + 1 < issue.position.length; i += 2) pts.push(r.toScreen(issue.position[i], issue.position[i + 1]));
      ctx.beginPath();
      if (pts.length === 2) ctx.rect(pts[0][0], pts[0][1], pts[1][0] - pts[0][0], pts[1][1] - pts[0][1]);
      else pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.strokeStyle = issue.resolved ? RESOLVED : OPEN;
      ctx.lineWidth = this.current?.id === issue.id ? 3 : 2;
      ctx.setLineDash(issue.resolved ? [4, 4] : []);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.font = '12px sans-serif';
      const [lx, ly] = pts[0];
      ctx.fillText(`⚑ #${issue.id}`, Math.min(lx, pts[1]?.[0] ?? lx) + 3, Math.min(ly, pts[1]?.[1] ?? ly) - 4);
    }
  }
}

/** Ask for the issue's first comment; resolves to the text, or null when cancelled. */
function askMessage() {
  return new Promise((resolve) => {
    const text = h('textarea', { rows: 3, 'aria-label': 'Issue message', placeholder: 'What is wrong here?' });
    let answered = false;
    const finish = (value) => { if (answered) return; answered = true; close(); resolve(value); };
    const { dialog, close } = modal('Open an issue', text,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary', onclick: () => finish(text.value.trim() || null) }, 'Open issue'),
        h('button', { type: 'button', onclick: () => finish(null) }, 'Cancel')));
    dialog.addEventListener('close', () => finish(null));
    text.focus();
  });
}
