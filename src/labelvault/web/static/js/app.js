// Entry point: registers the routes, keeps the top bar in sync with the session, starts routing.
import { auth, currentOrg, get, setOrg } from './api.js';
import { navigate, route, start } from './router.js';
import { refreshServerBanners } from './server_status.js';
import * as session from './session.js';
import { h, toast } from './ui.js';

route('/login', () => import('./screens/login.js'));
route('/', () => import('./screens/projects.js'));
route('/projects', () => import('./screens/projects.js'));
route('/projects/create', () => import('./screens/project_form.js'));
route('/projects/:id', () => import('./screens/project.js'));
route('/projects/:id/edit', () => import('./screens/project_form.js'));
route('/tasks', () => import('./screens/tasks.js'));
route('/tasks/create', () => import('./screens/task_create.js'));
route('/tasks/:id', () => import('./screens/task.js'));
route('/tasks/:tid/jobs/:jid', () => import('./screens/job.js'));
route('/jobs', () => import('./screens/jobs.js'));
route('/jobs/:jid', () => import('./screens/job.js'));
route('/organization', () => import('./screens/organization.js'));
route('/invitations/:key', () => import('./screens/invitation.js'));
route('/admin', () => import('./screens/admin.js'));
route('/admin/:tab', () => import('./screens/admin.js'));

function renderTopbar() {
  const me = session.self();
  const bar = document.getElementById('topbar');
  bar.hidden = !me || location.pathname === '/login';
  document.getElementById('whoami').textContent = me ? me.username : '';
  document.getElementById('nav-admin').hidden = !session.isAdmin();
  for (const a of bar.querySelectorAll('nav a')) {
    a.toggleAttribute('aria-current', location.pathname.startsWith(a.getAttribute('href')));
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await auth.logout(); } catch { /* already signed out */ }
  session.clear();
  navigate('/login');
});

window.addEventListener('lv:routed', () => { renderTopbar(); refreshServerBanners(); renderOrgSwitch(); });
window.addEventListener('lv:organization', () => renderOrgSwitch());

/** The organization switcher: personal workspace, each organization of the user, or no filter. */
async function renderOrgSwitch() {
  const select = document.getElementById('org-switch');
  if (!session.self()) { select.replaceChildren(); return; }
  let orgs = [];
  try { orgs = (await get('/api/organizations?page_size=100', { headers: { 'X-Organization': '' } })).results; } catch { /* keep the sandbox */ }
  const chosen = currentOrg();
  if (chosen && !orgs.some((o) => o.slug === chosen)) setOrg(null);
  const option = (value, text) => h('option', { value, selected: (currentOrg() ?? '*') === value }, text);
  select.replaceChildren(option('*', 'All workspaces'), option('', 'Personal workspace'), ...orgs.map((o) => option(o.slug, o.name || o.slug)));
}
document.getElementById('org-switch').addEventListener('change', (e) => {
  setOrg(e.target.value === '*' ? null : e.target.value);
  navigate(location.pathname.startsWith('/organization') ? '/organization' : '/projects');
});
window.addEventListener('lv:unauthorized', () => {
  if (location.pathname !== '/login') {
    session.clear();
    toast('Your session ended; please log in again.', 'error');
    navigate(`/login?next=${encodeURIComponent(location.pathname)}`);
  }
});

(async () => {
  const me = await session.loadSelf();
  if (!me && location.pathname !== '/login') {
    history.replaceState(null, '', `/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  } else if (location.pathname === '/') {
    history.replaceState(null, '', '/projects');
  }
  await start();
})();
