// Model tools of the workspace: a detector on the current frame (proposals to accept), GrabCut clicks -> polygon.
import { post } from '../api.js';
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
    onDone: () => { if (!ws.store.hasUnsaved) location.reload(); else toast('Save and reload the job to see the new objects', 'info'); } }), 'Automatic annotation'));
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

/** Clicks on the image: plain = inside the object, Shift = outside; Done makes the polygon. */
function interactive(ws) {
  if (ws.aiCut) { ws.aiCut.stop(); return; }
  const overlay = ws.renderer.overlay;
  const pos = []; const neg = [];
  let result = null;
  const status = h('span', { role: 'status', 'aria-label': 'Segmentation status' }, 'Click inside the object (Shift+click outside).');
  const done = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => {
    if (result?.length >= 3) {
      ws.create({ type: 'polygon', points: result.flat(), source: 'semi-auto' });
      toast('Polygon added', 'success');
    }
    stop();
  } }, 'Done');
  const panel = h('div', { class: 'ai-cut card', role: 'region', 'aria-label': 'Interactive segmentation' }, status, ' ', done,
    h('button', { type: 'button', onclick: () => stop() }, 'Cancel'));
  ws.canvasBox.append(panel);
  const onDown = async (e) => {
    if (e.button !== 0) return;
    e.stopImmediatePropagation();
    e.preventDefault();
    const p = ws.renderer.toImage(e.offsetX, e.offsetY);
    (e.shiftKey ? neg : pos).push([p.x ?? p[0], p.y ?? p[1]]);
    if (!pos.length) return;
    status.textContent = 'Segmenting…';
    try {
      const res = await post(`/api/lambda/functions/${GRABCUT}`, { job: ws.job.id, frame: ws.frame, pos_points: pos, neg_points: neg });
      result = res.points || [];
      status.textContent = `${pos.length} inside, ${neg.length} outside: an outline of ${result.length} points`;
      done.disabled = result.length < 3;
    } catch (err) { status.textContent = err.message; }
  };
  overlay.addEventListener('pointerdown', onDown, { capture: true });
  const stop = () => { overlay.removeEventListener('pointerdown', onDown, { capture: true }); panel.remove(); ws.aiCut = null; };
  ws.aiCut = { stop };
}
