// Quality section of the project page: a project report over its tasks' ground truth, with progress, per label and per task.
import { get, list, post } from './api.js';
import { h, progressBar, toast } from './ui.js';

const pct = (x) => `${(100 * x).toFixed(1)} %`;

/** A <section> that fills itself; project.js appends it under the tasks. */
export function projectQualitySection(projectId) {
  const el = h('section', { class: 'quality', 'aria-label': 'Project quality' }, h('h2', {}, 'Quality'));
  const body = h('div', {});
  el.append(body);
  const refresh = () => paint(body, projectId, refresh)
    .catch((e) => body.replaceChildren(h('p', { class: 'error' }, `Quality: ${e.message}`)));
  refresh();
  return el;
}

async function paint(body, projectId, refresh) {
  const reports = await list('/api/quality/reports', { project_id: projectId, target: 'project', page_size: 1 });
  const report = reports.results[0];
  const bar = progressBar('Project quality report progress');
  bar.el.hidden = true;
  body.replaceChildren(h('div', { class: 'toolbar' },
    h('button', { type: 'button', onclick: () => compute(projectId, bar, refresh) }, 'Compute project quality report'), bar.el));
  if (report) body.append(await reportView(report));
  else body.append(h('p', { class: 'muted' }, 'No project report yet: give tasks a ground-truth job, then compute one.'));
}

async function compute(projectId, bar, refresh) {
  bar.el.hidden = false;
  bar.set(0, 'Queued');
  try {
    const { rq_id: rqId } = await post('/api/quality/reports', { project_id: projectId });
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

async function reportView(report) {
  const [data, tasks] = await Promise.all([
    get(`/api/quality/reports/${report.id}/data`),
    list('/api/quality/reports', { parent_id: report.id, page_size: 500 }),
  ]);
  const s = report.summary;
  return h('div', { class: 'quality-report', 'aria-label': 'Project quality report' },
    h('p', { 'aria-label': 'Project quality summary' },
      `Report #${report.id}: accuracy ${pct(s.accuracy)} · precision ${pct(s.precision)} · recall ${pct(s.recall)} · `,
      `${s.valid_count} matched of ${s.gt_count} ground-truth and ${s.ds_count} annotated · `,
      `${s.tasks.included} of ${s.tasks.total} tasks checked · ${s.error_count} errors, ${s.warning_count} warnings`),
    h('table', { class: 'table', 'aria-label': 'Project quality per task' },
      h('thead', {}, h('tr', {}, ['Task', 'Accuracy', 'Precision', 'Recall', 'Conflicts'].map((c) => h('th', {}, c)))),
      h('tbody', {}, tasks.results.map((t) => h('tr', {},
        h('td', {}, h('a', { href: `/tasks/${t.task_id}` }, `Task #${t.task_id}`)),
        h('td', {}, pct(t.summary.accuracy)), h('td', {}, pct(t.summary.precision)),
        h('td', {}, pct(t.summary.recall)), h('td', {}, String(t.summary.conflict_count)))))),
    h('table', { class: 'table', 'aria-label': 'Project quality per label' },
      h('thead', {}, h('tr', {}, ['Label', 'Ground truth', 'Annotated', 'Matched', 'Precision', 'Recall', 'Mean similarity'].map((c) => h('th', {}, c)))),
      h('tbody', {}, data.labels.map((l) => h('tr', {},
        h('td', {}, l.name), h('td', {}, String(l.gt_count)), h('td', {}, String(l.ds_count)), h('td', {}, String(l.valid_count)),
        h('td', {}, pct(l.precision)), h('td', {}, pct(l.recall)), h('td', {}, l.mean_iou.toFixed(3)))))));
}
