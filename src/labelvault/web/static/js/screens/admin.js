// Admin screen: users (create, role, activate/deactivate), groups (create, members) and models.
import { del, get, listAll, patch, post } from '../api.js';
import { navigate } from '../router.js';
import * as session from '../session.js';
import { errorBox, field, h, pager, toast } from '../ui.js';
import { models } from './admin_models.js';

const ROLES = ['admin', 'user', 'worker'];

export function render(el, { tab = 'users' }) {
  if (!session.isAdmin()) { el.append(h('section', { class: 'page' }, h('h1', {}, 'Admin'), h('p', { class: 'error' }, 'Only administrators can manage users and groups.'))); return; }
  const body = h('div');
  el.append(h('section', { class: 'page' }, h('div', { class: 'toolbar' }, h('h1', {}, 'Administration'),
    h('nav', { class: 'tabs', 'aria-label': 'Admin sections' },
      h('a', { href: '/admin/users', 'aria-current': tab === 'users' ? 'page' : null }, 'Users'),
      h('a', { href: '/admin/groups', 'aria-current': tab === 'groups' ? 'page' : null }, 'Groups'),
      h('a', { href: '/admin/models', 'aria-current': tab === 'models' ? 'page' : null }, 'Models'))), body));
  if (tab === 'groups') groups(body); else if (tab === 'models') models(body); else users(body);
}

function users(body) {
  let page = 1;
  const rows = h('tbody');
  const pages = h('div');
  async function load() {
    try {
      // Every account, whichever organization is chosen (in one, /api/users lists its members).
      const data = await get(`/api/users?${new URLSearchParams({ page, page_size: 25 })}`, { headers: { 'X-Organization': '' } });
      rows.replaceChildren(...data.results.map((u) => h('tr', {},
        h('td', {}, u.username), h('td', {}, u.email || ''), h('td', {}, `${u.first_name} ${u.last_name}`.trim()),
        h('td', {}, h('select', { 'aria-label': `Role of ${u.username}`, onchange: (e) => change(u, { role: e.target.value }) }, ROLES.map((r) => h('option', { value: r, selected: u.groups?.[0] === r }, r)))),
        h('td', {}, h('label', {}, h('input', { type: 'checkbox', checked: u.is_active, 'aria-label': `Active: ${u.username}`, onchange: (e) => change(u, { is_active: e.target.checked }) }), u.is_active ? ' active' : ' deactivated')))));
      pages.replaceChildren(pager(data, page, 25, (p) => { page = p; load(); }));
    } catch (err) { rows.replaceChildren(h('tr', {}, h('td', { colspan: 5 }, errorBox(err, 'Listing users')))); }
  }
  async function change(u, bodyJson) {
    try { await patch(`/api/users/${u.id}`, bodyJson); toast(`${u.username} updated`, 'success'); load(); } catch (e) { toast(e.message, 'error'); }
  }
  const f = { username: h('input', { name: 'username', required: true }), password: h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' }),
    email: h('input', { name: 'email', type: 'email' }), role: h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'user' }, r))) };
  const err = h('div');
  const form = h('form', { class: 'card form inline-form', 'aria-label': 'Create user', onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    try {
      await post('/api/users', { username: f.username.value.trim(), password: f.password.value, email: f.email.value.trim(), role: f.role.value });
      toast(`User ${f.username.value} created`, 'success');
      form.reset();
      load();
    } catch (ex) { err.replaceChildren(errorBox(ex, 'Creating the user')); }
  } }, h('h2', {}, 'New user'), h('div', { class: 'row' }, field('Username', f.username), field('Password', f.password), field('E-mail', f.email), field('Role', f.role),
    h('button', { type: 'submit', class: 'primary' }, 'Create user')), err);
  body.append(form, h('table', { class: 'table', 'aria-label': 'Users' }, h('thead', {}, h('tr', {}, ['Username', 'E-mail', 'Name', 'Role', 'Active'].map((c) => h('th', {}, c)))), rows), pages);
  load();
}

async function groups(body) {
  const usersAll = await listAll('/api/users').catch(() => []);
  const names = Object.fromEntries(usersAll.map((u) => [u.id, u.username]));
  const listEl = h('div');
  async function load() {
    try {
      const data = await listAll('/api/groups');
      listEl.replaceChildren(...data.map((g) => h('article', { class: 'card' },
        h('h3', {}, g.name), h('p', { class: 'muted' }, g.description || ''),
        h('label', {}, 'Members ', h('select', { multiple: true, 'aria-label': `Members of ${g.name}`, onchange: async (e) => {
          try { await patch(`/api/groups/${g.id}`, { members: [...e.target.selectedOptions].map((o) => Number(o.value)) }); toast('Members saved', 'success'); } catch (ex) { toast(ex.message, 'error'); }
        } }, usersAll.map((u) => h('option', { value: u.id, selected: g.members.includes(u.id) }, u.username)))),
        h('p', { class: 'muted small' }, g.members.map((m) => names[m] || m).join(', ')),
        h('button', { type: 'button', class: 'danger', onclick: async () => { try { await del(`/api/groups/${g.id}`); load(); } catch (ex) { toast(ex.message, 'error'); } } }, `Delete group ${g.name}`))));
      if (!data.length) listEl.append(h('p', { class: 'muted' }, 'No groups yet.'));
    } catch (err) { listEl.replaceChildren(errorBox(err, 'Listing groups')); }
  }
  const name = h('input', { name: 'group', required: true });
  const desc = h('input', { name: 'description' });
  body.append(h('form', { class: 'card form inline-form', 'aria-label': 'Create group', onsubmit: async (e) => {
    e.preventDefault();
    try { await post('/api/groups', { name: name.value.trim(), description: desc.value }); name.value = ''; desc.value = ''; load(); } catch (ex) { toast(ex.message, 'error'); }
  } }, h('div', { class: 'row' }, field('Group name', name), field('Description', desc), h('button', { type: 'submit', class: 'primary' }, 'Create group'))), listEl);
  load();

}
