// Activity section of a project page: annotators (saves, objects, time, objects per hour), time per job, CSV export.
import { get } from './api.js';
import { h } from './ui.js';

export function duration(seconds) {
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A <section> that fills itself from GET /api/projects/{id}/activity. */
export function activitySection(projectId) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading activity…'));
  const el = h('section', { class: 'activity', 'aria-label': 'Activity' },
    h('div', { class: 'toolbar' }, h('h2', {}, 'Activity'), h('span', { class: 'spacer' }),
      h('a', { class: 'button', href: `/api/events?project_id=${projectId}&filename=project-${projectId}-activity`, download: '' }, 'Download CSV')),
    body);
  get(`/api/projects/${projectId}/activity`).then((a) => paint(body, a))
    .catch((e) => body.replaceChildren(h('p', { class: 'error' }, `Activity: ${e.message}`)));
  return el;
}

function paint(body, a) {
  if (!a.saves) { body.replaceChildren(h('p', { class: 'muted' }, 'No saves yet.')); return; }
  const table = (label, head, rows) => h('table', { class: 'table', 'aria-label': label },
    h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))), h('tbody', {}, rows));
  body.replaceChildren(
    table('Annotators', ['Annotator', 'Saves', 'Created', 'Changed', 'Deleted', 'Time', 'Objects per hour'],
      a.annotators.map((u) => h('tr', {}, h('td', {}, u.username || '—'), h('td', {}, String(u.saves)),
        h('td', {}, String(u.objects_created)), h('td', {}, String(u.objects_changed)), h('td', {}, String(u.objects_deleted)),
        h('td', {}, duration(u.working_seconds)), h('td', {}, u.objects_per_hour.toFixed(1))))),
    h('h3', {}, 'Time per job'),
    table('Time per job', ['Job', 'Task', 'Annotators', 'Saves', 'Time', 'Stage · state'],
      a.jobs.map((j) => h('tr', {},
        h('td', {}, h('a', { href: `/tasks/${j.task_id}/jobs/${j.job_id}` }, `Job #${j.job_id}`)), h('td', {}, j.task_name || ''),
        h('td', {}, j.annotators.join(', ')), h('td', {}, String(j.saves)), h('td', {}, duration(j.working_seconds)),
        h('td', {}, `${j.stage} · ${j.state}`)))),
    h('p', { class: 'muted small' }, `Time is estimated from the saves: gaps of up to ${a.estimate.idle_gap_seconds / 60} minutes between one person's saves on a job count, plus ${a.estimate.lead_seconds} s before each first save.`));
}
