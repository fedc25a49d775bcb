// Organization page: create one, its members and their roles, invitations (link and e-mail).
import { currentOrg, del, get, list, patch, post, setOrg } from '../api.js';
import { errorBox, field, fmtDate, h, toast } from '../ui.js';

const ROLES = ['worker', 'supervisor', 'maintainer'];

export async function render(el) {
  const page = h('section', { class: 'page' });
  el.append(page);
  const slug = currentOrg();
  if (!slug) { page.append(h('h1', {}, 'Organizations'), createForm(), await invitationsForMe()); return; }
  let org;
  try { org = (await list('/api/organizations', { slug })).results[0]; } catch (err) { page.append(errorBox(err, 'Loading the organization')); return; }
  const members = h('tbody');
  const pending = h('tbody');
  const linkBox = h('div', { 'aria-live': 'polite' });

  async function load() {
    try {
      const data = await list('/api/memberships', { page_size: 500 });
      members.replaceChildren(...data.results.map((m) => h('tr', {},
        h('td', {}, m.user.username),
        h('td', {}, m.role === 'owner' ? 'owner'
          : h('select', { 'aria-label': `Role of ${m.user.username}`, onchange: (e) => change(m, e.target.value) },
            ROLES.map((r) => h('option', { value: r, selected: r === m.role }, r)))),
        h('td', {}, m.is_active ? fmtDate(m.joined_date) : 'invited'),
        h('td', {}, m.role === 'owner' ? '' : h('button', { type: 'button', class: 'danger', onclick: () => remove(m) }, `Remove ${m.user.username}`)))));
      const invitations = await list('/api/invitations', { page_size: 500, accepted: 'false' });
      pending.replaceChildren(...invitations.results.map((i) => h('tr', {},
        h('td', {}, i.user?.username || ''), h('td', {}, i.role), h('td', {}, h('code', {}, link(i.key))),
        h('td', {}, h('button', { type: 'button', onclick: async () => { try { await del(`/api/invitations/${i.key}`); load(); } catch (ex) { toast(ex.message, 'error'); } } }, 'Cancel')))));
    } catch (err) { members.replaceChildren(h('tr', {}, h('td', { colspan: 4 }, errorBox(err, 'Listing members')))); }
  }
  async function change(m, role) {
    try { await patch(`/api/memberships/${m.id}`, { role }); toast(`${m.user.username} is now ${role}`, 'success'); } catch (ex) { toast(ex.message, 'error'); load(); }
  }
  async function remove(m) {
    try { await del(`/api/memberships/${m.id}`); load(); } catch (ex) { toast(ex.message, 'error'); }
  }
  const email = h('input', { type: 'email', name: 'email', required: true });
  const role = h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, r)));
  const err = h('div');
  const invite = h('form', { class: 'card form inline-form', 'aria-label': 'Invite a member', onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    try {
      const made = await post('/api/invitations', { email: email.value.trim(), role: role.value });
      linkBox.replaceChildren(h('p', {}, 'Invitation link: ', h('code', { 'aria-label': 'Invitation link' }, link(made.key))));
      invite.reset();
      load();
    } catch (ex) { err.replaceChildren(errorBox(ex, 'Inviting')); }
  } }, h('h2', {}, 'Invite'), h('div', { class: 'row' }, field('E-mail', email), field('Role', role), h('button', { type: 'submit', class: 'primary' }, 'Invite')), err, linkBox);
  page.append(
    h('div', { class: 'toolbar' }, h('h1', {}, org ? `Organization ${org.name || org.slug}` : slug)),
    org?.description ? h('p', { class: 'muted' }, org.description) : null,
    invite,
    h('table', { class: 'table', 'aria-label': 'Members' }, h('thead', {}, h('tr', {}, ['Member', 'Role', 'Joined', ''].map((c) => h('th', {}, c)))), members),
    h('h2', {}, 'Pending invitations'),
    h('table', { class: 'table', 'aria-label': 'Pending invitations' }, h('thead', {}, h('tr', {}, ['Invited', 'Role', 'Link', ''].map((c) => h('th', {}, c)))), pending));
  load();
}

const link = (key) => `${location.origin}/invitations/${key}`;

function createForm() {
  const slug = h('input', { name: 'slug', required: true, maxlength: 16 });
  const name = h('input', { name: 'name' });
  const err = h('div');
  return h('form', { class: 'card form inline-form', 'aria-label': 'Create organization', onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    try {
      const org = await post('/api/organizations', { slug: slug.value.trim(), name: name.value.trim() }, { headers: { 'X-Organization': '' } });
      toast(`Organization ${org.slug} created`, 'success');
      setOrg(org.slug);
      const { navigate } = await import('../router.js');
      navigate('/organization');
    } catch (ex) { err.replaceChildren(errorBox(ex, 'Creating the organization')); }
  } }, h('h2', {}, 'New organization'), h('div', { class: 'row' }, field('Short name (slug)', slug), field('Full name', name), h('button', { type: 'submit', class: 'primary' }, 'Create organization')), err);
}

async function invitationsForMe() {
  try {
    const mine = await get('/api/invitations?accepted=false&page_size=100', { headers: { 'X-Organization': '' } });
    return h('div', {}, h('h2', {}, 'Your invitations'), mine.results.length
      ? h('ul', {}, mine.results.map((i) => h('li', {}, h('a', { href: `/invitations/${i.key}` }, `${i.organization_info.slug} (${i.role})`))))
      : h('p', { class: 'muted' }, 'No open invitations.'));
  } catch (err) { return errorBox(err, 'Listing invitations'); }
}
