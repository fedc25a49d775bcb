// Tasks list: search, paging, status and progress of jobs, as CVAT's tasks page.
import { list } from '../api.js';
import { navigate } from '../router.js';
import { debounce, errorBox, fmtDate, h, pager, preview } from '../ui.js';

const PAGE = 10;

export function render(el, _params, query) {
  let page = Number(query.page || 1);
  let search = query.search || '';
  const rows = h('div', { class: 'rows' });
  const box = h('div');
  const input = h('input', { type: 'search', placeholder: 'Search tasks', 'aria-label': 'Search tasks', value: search });
  input.addEventListener('input', debounce(() => { search = input.value; page = 1; load(); }, 250));

  async function load() {
    try {
      const data = await list('/api/tasks', { page, page_size: PAGE, search });
      rows.replaceChildren(...data.results.map(row));
      if (!data.results.length) rows.append(h('p', { class: 'muted' }, 'No tasks.'));
      box.replaceChildren(pager(data, page, PAGE, (p) => { page = p; load(); }));
    } catch (err) { rows.replaceChildren(errorBox(err, 'Listing tasks')); }
  }

  el.append(h('section', { class: 'page' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Tasks'), input,
      h('button', { type: 'button', class: 'primary', onclick: () => navigate('/tasks/create') }, 'Create task')),
    rows, box));
  load();
}

export function row(t) {
  const done = t.jobs?.completed || 0;
  return h('article', { class: 'card task-row' },
    preview(`/api/tasks/${t.id}/preview`, `Preview of ${t.name}`),
    h('div', { class: 'grow' },
      h('h2', {}, h('a', { href: `/tasks/${t.id}` }, `#${t.id} ${t.name}`)),
      h('p', { class: 'muted' }, `${t.size} frames · ${t.project_name ? `project ${t.project_name} · ` : ''}${t.owner?.username || ''} · updated ${fmtDate(t.updated_date)}`)),
    h('div', {}, h('span', { class: `badge status-${t.status}` }, t.status),
      h('p', { class: 'muted small' }, `${done} of ${t.jobs?.count || 0} jobs completed`)),
    h('a', { class: 'button', href: `/tasks/${t.id}` }, 'Open'));
}
