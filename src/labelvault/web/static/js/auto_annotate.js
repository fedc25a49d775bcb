// "Automatic annotation" dialog (task and job pages): a registered model over the frames, as CVAT's lambda requests.
import { del, get, listAll, post } from './api.js';
import { errorBox, field, h, modal, progressBar, toast } from './ui.js';

const norm = (s) => String(s).trim().toLowerCase();

/** The task label a model label maps to by default: the same name, case and spaces aside. */
export function suggest(modelLabel, taskLabels) {
  return taskLabels.find((l) => norm(l.name) === norm(modelLabel))?.name || '';
}

export async function detectors() {
  const all = await get('/api/lambda/functions').catch(() => []);
  return all.filter((f) => f.kind === 'detector');
}

/** Opens the dialog for a task (jobId null) or one job; resolves with the finished request or null. */
export async function autoAnnotateDialog({ taskId, jobId = null, onDone = () => {} }) {
  const [functions, labels] = await Promise.all([detectors(), listAll('/api/labels', { task_id: taskId }).catch(() => [])]);
  const taskLabels = labels.filter((l) => !l.has_parent);
  const err = h('div');
  const bar = progressBar('Automatic annotation progress');
  if (!functions.length) {
    modal('Automatic annotation', h('div', { class: 'modal-body' },
      h('p', { class: 'muted' }, 'No model is registered yet. An admin adds one with `labelvault model add` or POST /api/models.')));
    return null;
  }
  const model = h('select', { name: 'model', 'aria-label': 'Model' }, functions.map((f) => h('option', { value: f.id }, `${f.name} (${f.framework || f.kind})`)));
  const mappingBox = h('table', { class: 'table mapping', 'aria-label': 'Label mapping' });
  const threshold = h('input', { type: 'number', min: 0, max: 1, step: 0.05, value: 0.5, 'aria-label': 'Threshold' });
  const replace = h('input', { type: 'checkbox', 'aria-label': 'Replace existing annotations' });
  const toPoly = h('input', { type: 'checkbox', 'aria-label': 'Masks as polygons' });
  const selects = new Map();
  const fillMapping = () => {
    const fn = functions.find((f) => f.id === model.value);
    selects.clear();
    mappingBox.replaceChildren(h('thead', {}, h('tr', {}, h('th', {}, 'Model label'), h('th', {}, 'Task label'))),
      h('tbody', {}, (fn?.labels_v2 || []).map((ml) => {
        const pick = suggest(ml.name, taskLabels);
        const sel = h('select', { 'aria-label': `Task label for ${ml.name}` },
          h('option', { value: '' }, '(skip)'), taskLabels.map((l) => h('option', { value: l.name, selected: l.name === pick }, l.name)));
        selects.set(ml.name, sel);
        return h('tr', {}, h('td', {}, ml.name), h('td', {}, sel));
      })));
  };
  model.addEventListener('change', fillMapping);
  fillMapping();
  let rqId = null;
  const cancel = h('button', { type: 'button', disabled: true, onclick: async () => {
    if (!rqId) return;
    try { await del(`/api/lambda/requests/${rqId}`); toast('Cancelled', 'info'); } catch (e) { toast(e.message, 'error'); }
  } }, 'Cancel run');
  const run = h('button', { type: 'button', class: 'primary', onclick: async () => {
    err.replaceChildren();
    const mapping = {};
    for (const [name, sel] of selects) if (sel.value) mapping[name] = { name: sel.value };
    if (!Object.keys(mapping).length) { err.replaceChildren(h('p', { class: 'error' }, 'Map at least one model label to a task label.')); return; }
    run.disabled = true;
    try {
      const body = { function: model.value, task: taskId, mapping, threshold: Number(threshold.value), cleanup: replace.checked, conv_mask_to_poly: toPoly.checked };
      if (jobId) body.job = jobId;
      let rq = await post('/api/lambda/requests', body);
      rqId = rq.id;
      cancel.disabled = false;
      while (rq.status === 'queued' || rq.status === 'started') {
        bar.set((rq.progress || 0) / 100, rq.status);
        await new Promise((r) => setTimeout(r, 300));
        rq = await get(`/api/lambda/requests/${rqId}`);
      }
      cancel.disabled = true;
      if (rq.status === 'finished') { bar.set(1, 'finished'); toast('Automatic annotation finished', 'success'); onDone(rq); } else {
        bar.set((rq.progress || 0) / 100, 'failed');
        err.replaceChildren(h('p', { class: 'error', role: 'alert' }, rq.exc_info || 'The run failed.'));
      }
      run.disabled = false;
      return rq;
    } catch (e) { err.replaceChildren(errorBox(e, 'Automatic annotation')); run.disabled = false; cancel.disabled = true; }
    return null;
  } }, 'Annotate');
  modal('Automatic annotation', h('div', { class: 'modal-body' },
    field('Model', model), mappingBox, field('Threshold', threshold, 'Detections scoring less are dropped'),
    h('label', {}, replace, ' Replace existing annotations (otherwise keep them and add)'),
    h('label', {}, toPoly, ' Masks as polygons'),
    h('div', { class: 'row' }, run, ' ', cancel), bar.el, err));
  return null;
}
