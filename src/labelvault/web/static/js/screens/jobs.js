// Jobs list: the signed-in worker's jobs first, with stage/state filters.
import { list } from '../api.js';
import * as session from '../session.js';
import { errorBox, fmtDate, h, pager } from '../ui.js';

const PAGE = 20;

export function render(el) {
  let page = 1;
  let mine = true;
  const stage = h('select', { 'aria-label': 'Stage filter', onchange: () => { page = 1; load(); } },
    ['', 'annotation', 'validation', 'acceptance'].map((s) => h('option', { value: s }, s || 'Any stage')));
  const state = h('select', { 'aria-label': 'State filter', onchange: () => { page = 1; load(); } },
    ['', 'new', 'in progress', 'rejected', 'completed'].map((s) => h('option', { value: s }, s || 'Any state')));
  const mineBox = h('input', { type: 'checkbox', checked: true, onchange: () => { mine = mineBox.checked; page = 1; load(); } });
  const table = h('tbody');
  const box = h('div');

  async function load() {
    try {
      const data = await list('/api/jobs', {
        page, page_size: PAGE, stage: stage.value, state: state.value,
        assignee: mine ? session.self()?.username : undefined,
      });
      table.replaceChildren(...data.results.map((j) => h('tr', {},
        h('td', {}, h('a', { href: `/tasks/${j.task_id}/jobs/${j.id}` }, `Job #${j.id}`)),
        h('td', {}, h('a', { href: `/tasks/${j.task_id}` }, `Task #${j.task_id}`)),
        h('td', {}, `${j.start_frame}–${j.stop_frame}`),
        h('td', {}, j.stage), h('td', {}, j.state),
        h('td', {}, j.assignee?.username || '—'), h('td', {}, fmtDate(j.updated_date)))));
      if (!data.results.length) table.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, mine ? 'No jobs assigned to you. Untick “Only my jobs” to see all.' : 'No jobs.')));
      box.replaceChildren(pager(data, page, PAGE, (p) => { page = p; load(); }));
    } catch (err) { table.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, errorBox(err, 'Listing jobs')))); }
  }

  el.append(h('section', { class: 'page' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Jobs'), h('label', {}, mineBox, ' Only my jobs'), stage, state),
    h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ['Job', 'Task', 'Frames', 'Stage', 'State', 'Assignee', 'Updated'].map((c) => h('th', {}, c)))), table),
    box));
  load();
}
