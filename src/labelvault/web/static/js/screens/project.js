// Project page: its tasks, labels, dataset export/import, backups, rollback to a time.
import { del, get, list, listAll } from '../api.js';
import { activitySection } from '../activity_panel.js';
import { projectQualitySection } from '../project_quality.js';
import { backupsPanel, exportDialog, importDialog } from '../exports.js';
import { rollbackDialog } from '../rollback.js';
import { navigate } from '../router.js';
import { isAdmin, self } from '../session.js';
import { errorBox, h, pager } from '../ui.js';
import { row as taskRow } from './tasks.js';

export async function render(el, { id }) {
  let project;
  try { project = await get(`/api/projects/${id}`); } catch (err) { el.append(errorBox(err, 'Opening the project')); return; }
  const labels = await listAll('/api/labels', { project_id: id }).catch(() => []);
  const tasks = h('div', { class: 'rows' });
  const pages = h('div');
  let page = 1;
  async function loadTasks() {
    const data = await list('/api/tasks', { project_id: id, page, page_size: 10 });
    tasks.replaceChildren(...data.results.map(taskRow));
    if (!data.results.length) tasks.append(h('p', { class: 'muted' }, 'No tasks in this project yet.'));
    pages.replaceChildren(pager(data, page, 10, (p) => { page = p; loadTasks(); }));
  }
  const backups = h('div');
  const manages = isAdmin() || [project.owner?.id, project.assignee?.id].includes(self()?.id);
  el.append(h('section', { class: 'page' },
    h('div', { class: 'toolbar' }, h('h1', {}, `${project.name}`), h('span', { class: 'muted' }, `Project #${project.id} · owner ${project.owner?.username || ''}`),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', onclick: () => navigate(`/projects/${id}/edit`) }, 'Edit'),
      h('button', { type: 'button', onclick: () => exportDialog('projects', id) }, 'Export dataset'),
      h('button', { type: 'button', onclick: () => importDialog('projects', id) }, 'Import dataset'),
      h('button', { type: 'button', onclick: () => exportDialog('projects', id, { backup: true }) }, 'Back up now'),
      manages ? h('button', { type: 'button', onclick: () => rollbackDialog(id) }, 'Roll back…') : null,
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Delete project “${project.name}” and all its tasks?`)) return;
        try { await del(`/api/projects/${id}`); navigate('/projects'); } catch (e) { el.prepend(errorBox(e, 'Deleting')); }
      } }, 'Delete')),
    h('h2', {}, 'Labels'),
    h('ul', { class: 'chips', 'aria-label': 'Labels' }, labels.filter((l) => !l.has_parent).map((l) => h('li', { class: 'chip', style: { borderColor: l.color } },
      h('span', { class: 'swatch', style: { background: l.color } }), `${l.name}`, h('small', { class: 'muted' }, ` ${l.type}${l.attributes.length ? ` · ${l.attributes.length} attr` : ''}`)))),
    h('div', { class: 'toolbar' }, h('h2', {}, 'Tasks'), h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'primary', onclick: () => navigate(`/tasks/create?project_id=${id}`) }, 'Create task')),
    tasks, pages,
    projectQualitySection(id),
    activitySection(id),
    h('h2', {}, 'Backups'), backups));
  loadTasks().catch((err) => tasks.replaceChildren(errorBox(err, 'Listing tasks')));
  backups.append(await backupsPanel('projects', id));
}
