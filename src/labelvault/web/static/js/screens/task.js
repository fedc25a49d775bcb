// Task page: jobs with assignee/stage/state edited inline, export/import/backup, delete.
import { del, get, listAll, patch } from '../api.js';
import { autoAnnotateDialog } from '../auto_annotate.js';
import { exportDialog, importDialog } from '../exports.js';
import { qualitySection } from '../quality_panel.js';
import { navigate } from '../router.js';
import { errorBox, fmtDate, h, preview, toast } from '../ui.js';

const STAGES = ['annotation', 'validation', 'acceptance'];
const STATES = ['new', 'in progress', 'rejected', 'completed'];

export async function render(el, { id }) {
  let task;
  try { task = await get(`/api/tasks/${id}`); } catch (err) { el.append(errorBox(err, 'Opening the task')); return; }
  const [jobs, users, labels] = await Promise.all([
    listAll('/api/jobs', { task_id: id }).catch(() => []),
    listAll('/api/users').catch(() => []),
    listAll('/api/labels', { task_id: id }).catch(() => []),
  ]);

  const userSelect = (job) => h('select', { 'aria-label': `Assignee of job ${job.id}`, onchange: (e) => update(job, { assignee: e.target.value ? Number(e.target.value) : null }) },
    h('option', { value: '' }, '—'), users.map((u) => h('option', { value: u.id, selected: job.assignee?.id === u.id }, u.username)));
  const choice = (job, key, values) => h('select', { 'aria-label': `${key[0].toUpperCase()}${key.slice(1)} of job ${job.id}`, onchange: (e) => update(job, { [key]: e.target.value }) },
    values.map((v) => h('option', { value: v, selected: job[key] === v }, v)));

  async function update(job, body) {
    try { Object.assign(job, await patch(`/api/jobs/${job.id}`, body)); toast(`Job #${job.id} updated`, 'success'); } catch (e) { toast(e.message, 'error'); }
  }

  el.append(h('section', { class: 'page' },
    h('div', { class: 'toolbar' }, h('h1', {}, `Task #${task.id}: ${task.name}`), h('span', { class: 'spacer' }),
      h('button', { type: 'button', onclick: () => exportDialog('tasks', id) }, 'Export dataset'),
      h('button', { type: 'button', onclick: () => importDialog('tasks', id) }, 'Upload annotations'),
      h('button', { type: 'button', onclick: () => exportDialog('tasks', id, { backup: true }) }, 'Back up now'),
      h('button', { type: 'button', onclick: () => autoAnnotateDialog({ taskId: Number(id) }) }, 'Automatic annotation'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Delete task “${task.name}” and its annotations?`)) return;
        try { await del(`/api/tasks/${id}`); navigate(task.project_id ? `/projects/${task.project_id}` : '/tasks'); } catch (e) { toast(e.message, 'error'); }
      } }, 'Delete')),
    h('div', { class: 'task-head card' },
      preview(`/api/tasks/${id}/preview`, `Preview of ${task.name}`),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Project'), h('dd', {}, task.project_id ? h('a', { href: `/projects/${task.project_id}` }, task.project_name || `#${task.project_id}`) : '—'),
        h('dt', {}, 'Frames'), h('dd', {}, String(task.size)),
        h('dt', {}, 'Segment size'), h('dd', {}, String(task.segment_size || '—')),
        h('dt', {}, 'Image quality'), h('dd', {}, String(task.image_quality)),
        h('dt', {}, 'Owner'), h('dd', {}, task.owner?.username || '—'),
        h('dt', {}, 'Created'), h('dd', {}, fmtDate(task.created_date)),
        h('dt', {}, 'Labels'), h('dd', {}, labels.filter((l) => !l.has_parent).map((l) => h('span', { class: 'chip', style: { borderColor: l.color } }, l.name))))),
    h('h2', {}, 'Jobs'),
    jobs.length ? h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Job', 'Frames', 'Stage', 'State', 'Assignee', 'Updated'].map((c) => h('th', {}, c)))),
      h('tbody', {}, jobs.map((j) => h('tr', {},
        h('td', {}, h('a', { href: `/tasks/${id}/jobs/${j.id}` }, `Job #${j.id}`)),
        h('td', {}, `${j.start_frame}–${j.stop_frame}`),
        h('td', {}, choice(j, 'stage', STAGES)), h('td', {}, choice(j, 'state', STATES)),
        h('td', {}, userSelect(j)), h('td', {}, fmtDate(j.updated_date))))))
      : h('p', { class: 'muted' }, task.size ? 'No jobs.' : 'This task has no data yet.'),
    qualitySection(task, jobs)));
}
