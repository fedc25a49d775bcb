// Projects list: cards with previews, search and paging, as CVAT's projects page.
import { list } from '../api.js';
import { navigate } from '../router.js';
import { debounce, errorBox, fmtDate, h, pager, preview } from '../ui.js';

const PAGE = 12;

export function render(el, _params, query) {
  let page = Number(query.page || 1);
  let search = query.search || '';
  const grid = h('div', { class: 'cards' });
  const box = h('div');
  const input = h('input', { type: 'search', placeholder: 'Search projects', 'aria-label': 'Search projects', value: search });
  input.addEventListener('input', debounce(() => { search = input.value; page = 1; load(); }, 250));

  async function load() {
    history.replaceState(null, '', `/projects${search || page > 1 ? `?${new URLSearchParams({ ...(search && { search }), ...(page > 1 && { page }) })}` : ''}`);
    try {
      const data = await list('/api/projects', { page, page_size: PAGE, search });
      grid.replaceChildren(...data.results.map(card));
      if (!data.results.length) grid.append(h('p', { class: 'muted' }, search ? 'No project matches.' : 'No projects yet — create one.'));
      box.replaceChildren(pager(data, page, PAGE, (p) => { page = p; load(); }));
    } catch (err) { grid.replaceChildren(errorBox(err, 'Listing projects')); }
  }

  function card(p) {
    return h('article', { class: 'card project-card' },
      h('a', { href: `/projects/${p.id}`, 'aria-label': `Open project ${p.name}` },
        preview(`/api/projects/${p.id}/preview`, `Preview of ${p.name}`)),
      h('h2', {}, h('a', { href: `/projects/${p.id}` }, p.name)),
      h('p', { class: 'muted' }, `#${p.id} · ${p.tasks.count} task${p.tasks.count === 1 ? '' : 's'} · ${p.owner?.username || ''}`),
      h('p', { class: 'muted small' }, `Updated ${fmtDate(p.updated_date)}`));
  }

  el.append(h('section', { class: 'page' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Projects'), input,
      h('button', { type: 'button', class: 'primary', onclick: () => navigate('/projects/create') }, 'Create project')),
    grid, box));
  load();
}
