// Quality section of the task page: the ground-truth job, computing a report (with progress), its figures and conflicts.
import { del, get, list, post } from './api.js';
import { h, progressBar, toast } from './ui.js';

const pct = (x) => `${(100 * x).toFixed(1)} %`;

/** A <section> that fills itself; task.js appends it under the jobs table. */
export function qualitySection(task, jobs) {
  const el = h('section', { class: 'quality', 'aria-label': 'Quality' }, h('h2', {}, 'Quality'));
  const body = h('div', {});
  el.append(body);
  const refresh = () => paint(body, task, refresh).catch((e) => body.replaceChildren(h('p', { class: 'error' }, `Quality: ${e.message}`)));
  if (task.size) refresh(); else body.append(h('p', { class: 'muted' }, 'Quality control needs the task data first.'));
  return el;
}

async function paint(body, task, refresh) {
  const gt = (await list('/api/jobs', { task_id: task.id, type: 'ground_truth' })).results[0];
  const reports = await list('/api/quality/reports', { task_id: task.id, target: 'task', page_size: 1 });
  const report = reports.results[0];
  body.replaceChildren(gt ? groundTruth(task, gt, refresh) : newGroundTruth(task, refresh));
  if (!gt) return;
  const bar = progressBar('Quality report progress');
  bar.el.hidden = true;
  body.append(h('div', { class: 'toolbar' },
    h('button', { type: 'button', onclick: () => compute(task, bar, refresh) }, 'Compute quality report'), bar.el));
  if (report) body.append(await reportView(task, report));
  else body.append(h('p', { class: 'muted' }, 'No quality report yet: annotate the ground-truth job, then compute one.'));
}

function groundTruth(task, gt, refresh) {
  return h('p', {}, 'Ground truth: ', h('a', { href: `/tasks/${task.id}/jobs/${gt.id}` }, `Job #${gt.id}`),
    ` over ${gt.frame_count} of ${task.size} frames. `,
    h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!confirm('Delete the ground-truth job and its annotations?')) return;
      try { await del(`/api/jobs/${gt.id}`); refresh(); } catch (e) { toast(e.message, 'error'); }
    } }, 'Delete ground truth'));
}

function newGroundTruth(task, refresh) {
  const frames = h('input', { type: 'text', 'aria-label': 'Ground-truth frames', placeholder: 'e.g. 0, 5, 9' });
  const count = h('input', { type: 'number', min: 1, max: task.size, 'aria-label': 'Random frame count', placeholder: 'count' });
  const create = async (selection) => {
    try { await post('/api/jobs', { type: 'ground_truth', task_id: task.id, ...selection }); toast('Ground-truth job created', 'success'); refresh(); } catch (e) { toast(e.message, 'error'); }
  };
  return h('div', { class: 'toolbar' },
    h('span', {}, 'No ground truth yet. Frames:'), frames,
    h('button', { type: 'button', onclick: () => create({ frame_selection_method: 'manual', frames: frames.value.split(/[\s,]+/).filter(Boolean).map(Number) }) }, 'Create ground truth'),
    h('span', {}, 'or random:'), count,
    h('button', { type: 'button', onclick: () => create({ frame_selection_method: 'random_uniform', frame_count: Number(count.value) }) }, 'Pick random frames'));
}

async function compute(task, bar, refresh) {
  bar.el.hidden = false;
  bar.set(0, 'Queued');
  try {
    const { rq_id: rqId } = await post('/api/quality/reports', { task_id: task.id });
    for (;;) {
      const rq = await get(`/api/requests/${encodeURIComponent(rqId)}`);
      bar.set(rq.progress || 0, rq.message || rq.status);
      if (rq.status === 'finished') break;
      if (rq.status === 'failed') throw new Error(rq.message || 'The report failed');
      await new Promise((r) => setTimeout(r, 300));
    }
    refresh();
  } catch (e) { toast(e.message, 'error'); bar.el.hidden = true; }
}

async function reportView(task, report) {
  const [data, conflicts] = await Promise.all([
    get(`/api/quality/reports/${report.id}/data`),
    list('/api/quality/conflicts', { report_id: report.id, page_size: 500, sort: 'frame' }),
  ]);
  const s = report.summary;
  const byFrame = new Map();
  for (const c of conflicts.results) byFrame.set(c.frame, [...(byFrame.get(c.frame) || []), c]);
  return h('div', { class: 'quality-report', 'aria-label': 'Quality report' },
    h('p', { 'aria-label': 'Quality summary' },
      `Report #${report.id}: accuracy ${pct(s.accuracy)} · precision ${pct(s.precision)} · recall ${pct(s.recall)} · `,
      `${s.valid_count} matched of ${s.gt_count} ground-truth and ${s.ds_count} annotated shapes on ${s.validation_frames} frames · `,
      `${s.error_count} errors, ${s.warning_count} warnings`),
    h('table', { class: 'table', 'aria-label': 'Quality per label' },
      h('thead', {}, h('tr', {}, ['Label', 'Ground truth', 'Annotated', 'Matched', 'Precision', 'Recall', 'Mean IoU'].map((c) => h('th', {}, c)))),
      h('tbody', {}, data.labels.map((l) => h('tr', {},
        h('td', {}, l.name), h('td', {}, String(l.gt_count)), h('td', {}, String(l.ds_count)), h('td', {}, String(l.valid_count)),
        h('td', {}, pct(l.precision)), h('td', {}, pct(l.recall)), h('td', {}, l.mean_iou.toFixed(3)))))),
    h('h3', {}, 'Conflicts by frame'),
    byFrame.size ? h('ul', { class: 'conflicts', 'aria-label': 'Conflicts by frame' }, [...byFrame].map(([frame, cs]) => {
      const job = cs[0].annotation_ids.find((a) => a.job_id)?.job_id;
      return h('li', {}, h('a', { href: `/tasks/${task.id}/jobs/${job}?frame=${frame}` }, `Frame ${frame}`), ': ',
        cs.map((c) => `${c.type.replace(/_/g, ' ')} (${c.severity})`).join(', '));
    })) : h('p', { class: 'muted' }, 'No conflicts.'));
}
