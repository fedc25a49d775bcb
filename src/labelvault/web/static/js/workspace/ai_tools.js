// Model tools of the workspace: a detector on the current frame (proposals to accept), interactor clicks -> polygon.
import { get, post } from '../api.js';
import { autoAnnotateDialog, detectors, suggest } from '../auto_annotate.js';
import { h, modal, toast } from '../ui.js';

const GRABCUT = 'labelvault.grabcut';

/** Adds the AI buttons to a workspace (`ws`: job, frame, labels, renderer, create()). */
export function mountAiTools(ws) {
  const tools = ws.root.querySelector('.ws-tools');
  const top = ws.root.querySelector('.ws-top .spacer');
  if (!tools) return;
  const btn = (label, onclick, text) => h('button', { type: 'button', 'aria-label': label, title: label, class: 'ai-tool', onclick }, text);
  tools.append(h('hr'), btn('Detect objects', () => detectDialog(ws), 'AI'), btn('Interactive segmentation', () => interactive(ws), 'Cut'));
  top?.after(btn('Automatic annotation', () => autoAnnotateDialog({ taskId: ws.job.task_id, jobId: ws.job.id,
    onDone: () => { if (!ws.store.hasUnsaved) location.reload(); else toast('Save and reload the job to see the new objects', 'info'); } }), 'Auto-annotate'));
}

function describe(shape, labels) {
  const label = labels.find((l) => l.id === shape.label_id);
  const pts = (shape.points || []).slice(0, 4).map((v) => Math.round(v)).join(', ');
  return `${label?.name || shape.label_id} · ${shape.type || 'tag'} · ${(shape.score ?? 1).toFixed(2)} · ${pts}`;
}

async function detectDialog(ws) {
  const functions = await detectors();
  if (!functions.length) { toast('No detector is registered.', 'error'); return; }
  const labels = ws.labels.all ? ws.labels.all() : (ws.labels.list || []);
  const model = h('select', { 'aria-label': 'Detector' }, functions.map((f) => h('option', { value: f.id }, f.name)));
  const threshold = h('input', { type: 'number', min: 0, max: 1, step: 0.05, value: 0.5, 'aria-label': 'Threshold' });
  const list = h('ul', { class: 'proposals', 'aria-label': 'Proposals' });
  let proposals = [];
  const accept = (shape, li) => {
    ws.create({ type: shape.type, points: shape.points, label_id: shape.label_id, source: 'auto', score: shape.score ?? 1 });
    li?.remove();
    proposals = proposals.filter((p) => p !== shape);
  };
  const run = h('button', { type: 'button', class: 'primary', onclick: async () => {
    const fn = functions.find((f) => f.id === model.value);
    const mapping = {};
    for (const ml of fn.labels_v2 || []) { const name = suggest(ml.name, labels); if (name) mapping[ml.name] = { name }; }
    try {
      const res = await post(`/api/lambda/functions/${encodeURIComponent(fn.id)}`, { job: ws.job.id, frame: ws.frame, threshold: Number(threshold.value), mapping });
      proposals = (res.shapes || []).slice(0, 500);
      list.replaceChildren(...proposals.map((s) => {
        const li = h('li', {}, describe(s, labels), ' ');
        li.append(h('button', { type: 'button', onclick: () => accept(s, li) }, 'Accept'));
        return li;
      }));
      if (!proposals.length) list.replaceChildren(h('li', { class: 'muted' }, 'Nothing found on this frame.'));
    } catch (e) { toast(e.message, 'error'); }
  } }, 'Detect');
  const all = h('button', { type: 'button', onclick: () => { for (const s of [...proposals]) accept(s, null); list.replaceChildren(); toast('Accepted all proposals', 'success'); } }, 'Accept all');
  modal('Detect objects', h('div', { class: 'modal-body' }, h('label', {}, 'Model ', model), h('label', {}, ' Threshold ', threshold), ' ', run, list, all));
}

/** The interactors to offer: GrabCut (no weights) first, then the registered ones. */
async function interactors() {
  const all = await get('/api/lambda/functions').catch(() => []);
  const found = all.filter((f) => f.kind === 'interactor');
  const grabcut = found.find((f) => f.id === GRABCUT) || { id: GRABCUT, name: 'GrabCut (OpenCV)' };
  return [grabcut, ...found.filter((f) => f.id !== GRABCUT)];
}

/** Clicks on the image: plain = inside the object, Shift = outside; the outline shows on the canvas; Done makes the polygon. */
async function interactive(ws) {
  if (ws.aiCut) { ws.aiCut.stop(); return; }
  ws.aiCut = { stop: () => {} }; // a second press while the list loads closes, not doubles
  const functions = await interactors();
  const overlay = ws.renderer.overlay;
  const pos = []; const neg = [];
  let result = null;
  let calls = 0;
  const model = h('select', { 'aria-label': 'Interactor' }, functions.map((f) => h('option', { value: f.id }, f.name)));
  const status = h('span', { role: 'status', 'aria-label': 'Segmentation status' }, 'Click inside the object (Shift+click outside).');
  const segment = async () => {
    if (!pos.length) return;
    const call = ++calls;
    status.textContent = 'Segmenting…';
    try {
      const res = await post(`/api/lambda/functions/${encodeURIComponent(model.value)}`, { job: ws.job.id, frame: ws.frame, pos_points: pos, neg_points: neg });
      if (call !== calls) return; // a later click's answer is the one to show
      result = res.points || [];
      status.textContent = `${pos.length} inside, ${neg.length} outside: an outline of ${result.length} points`;
      done.disabled = result.length < 3;
    } catch (err) { if (call === calls) { result = null; done.disabled = true; status.textContent = err.message; } }
    ws.renderer.invalidate('overlay');
  };
  model.addEventListener('change', () => { result = null; done.disabled = true; segment(); });
  const done = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => {
    if (result?.length >= 3) {
      ws.create({ type: 'polygon', points: result.flat(), source: 'semi-auto' });
      toast('Polygon added', 'success');
    }
    stop();
  } }, 'Done');
  const panel = h('div', { class: 'ai-cut card', role: 'region', 'aria-label': 'Interactive segmentation' }, h('label', {}, 'Model ', model), ' ', status, ' ', done,
    h('button', { type: 'button', onclick: () => stop() }, 'Cancel'));
  ws.canvasBox.append(panel);
  // The outline so far and the clicks (green inside, red outside), over whatever the tool draws.
  const toolDraw = ws.renderer.toolOverlay;
  const mine = (ctx, r) => {
    toolDraw?.(ctx, r);
    if (result?.length >= 2) {
      ctx.beginPath();
      result.forEach(([x, y], i) => (i ? ctx.lineTo(...r.toScreen(x, y)) : ctx.moveTo(...r.toScreen(x, y))));
      ctx.closePath();
      ctx.fillStyle = 'rgba(0, 229, 255, 0.3)'; ctx.fill();
      ctx.lineWidth = 2; ctx.strokeStyle = '#00e5ff'; ctx.setLineDash([6, 3]); ctx.stroke(); ctx.setLineDash([]);
    }
    for (const [list, colour] of [[pos, '#2ecc40'], [neg, '#ff4136']]) {
      for (const [x, y] of list) {
        const [sx, sy] = r.toScreen(x, y);
        ctx.beginPath(); ctx.arc(sx, sy, 5, 0, Math.PI * 2);
        ctx.fillStyle = colour; ctx.fill(); ctx.lineWidth = 1.5; ctx.strokeStyle = '#fff'; ctx.stroke();
      }
    }
  };
  ws.renderer.toolOverlay = mine;
  ws.renderer.aiOutline = () => result; // for tests and the benchmark: what the canvas shows
  const onDown = (e) => {
    if (e.button !== 0) return;
    e.stopImmediatePropagation();
    e.preventDefault();
    const p = ws.renderer.toImage(e.offsetX, e.offsetY);
    (e.shiftKey ? neg : pos).push([p.x ?? p[0], p.y ?? p[1]]);
    ws.renderer.invalidate('overlay');
    segment();
  };
  overlay.addEventListener('pointerdown', onDown, { capture: true });
  const stop = () => {
    overlay.removeEventListener('pointerdown', onDown, { capture: true });
    panel.remove();
    if (ws.renderer.toolOverlay === mine) ws.renderer.toolOverlay = toolDraw; // a tool picked since keeps its own
    ws.renderer.aiOutline = null;
    ws.renderer.invalidate('overlay');
    ws.aiCut = null;
  };
  ws.aiCut = { stop };
}
