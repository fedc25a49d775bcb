// The project's "Roll back…" dialog: pick a time the storage reaches, confirm, follow the request.
import { get, request, waitRequest } from './api.js';
import { errorBox, field, h, modal, progressBar, toast } from './ui.js';

const pad = (n) => String(n).padStart(2, '0');

/** A Date as the value of a datetime-local input (the browser's local time, to the second). */
export function localValue(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export async function rollbackDialog(projectId, { onDone = () => {} } = {}) {
  const err = h('div');
  const result = h('p', { class: 'result', role: 'status' });
  const bar = progressBar('Rollback progress');
  let points = { oldest: null, newest: null };
  try { points = await get(`/api/projects/${projectId}/rollback/points`); } catch (e) { err.append(errorBox(e, 'Reading how far back the storage reaches')); }
  const input = h('input', { type: 'datetime-local', step: '1', name: 'to', required: true });
  const body = h('div', { class: 'modal-body' },
    h('p', { class: 'warning', role: 'note' }, 'The annotations of every job go back to how they were at that time; a full backup of the project is taken first.'));
  const go = h('button', { type: 'button', class: 'danger' }, 'Roll back');
  if (points.oldest) {
    // Whole seconds inside the range: the oldest point rounded up, the newest rounded down.
    const oldest = new Date(Math.ceil(Date.parse(points.oldest) / 1000) * 1000);
    const newest = new Date(Math.floor(Date.parse(points.newest) / 1000) * 1000);
    input.min = localValue(oldest);
    input.max = localValue(newest < oldest ? oldest : newest);
    input.value = input.max;
    body.append(field('Roll back to', input, `Between ${oldest.toLocaleString()} and ${newest.toLocaleString()}`));
  } else {
    go.disabled = true;
    body.append(h('p', { class: 'muted' }, 'The storage holds no snapshot of this instance yet, so there is no earlier point to go back to.'));
  }
  go.addEventListener('click', async () => {
    err.replaceChildren();
    result.textContent = '';
    if (!input.value) { err.append(h('p', { class: 'error' }, 'Choose a time first.')); return; }
    go.disabled = true;
    try {
      const to = new Date(input.value).toISOString();
      const res = await request('POST', `/api/projects/${projectId}/rollback`, { json: { to } });
      const rq = await waitRequest(res.rq_id, (r) => bar.set(r.progress || 0, r.message || r.status));
      bar.set(1, 'finished');
      result.textContent = rq.message || `Rolled back; safety backup #${rq.result_id}`;
      toast('Rolled back', 'success');
      onDone(rq);
    } catch (e) {
      err.append(h('p', { class: 'error', role: 'alert' }, `Roll back failed: ${e.message || e}`));
      go.disabled = false;
    }
  });
  body.append(go, bar.el, result, err);
  return modal('Roll back the project', body);
}
