// Admin banners from GET /api/server/status: backups on the same disk as the data, backups falling behind.
import * as session from './session.js';
import { h } from './ui.js';

const DISMISSED = 'labelvault:dismissed-banners'; // per browser session: the risk is real, so it comes back
let fetched = null; // {user, status} of the last check

/** Show or clear the banners for whoever is signed in now; fetches once per signed-in user. */
export async function refreshServerBanners(box = document.getElementById('server-banners')) {
  const me = session.self();
  if (!me || !session.isAdmin() || location.pathname === '/login') { box.replaceChildren(); return; }
  if (fetched?.user !== me.id) fetched = { user: me.id, status: readStatus() };
  const status = await fetched.status;
  box.replaceChildren(...banners(status).filter((b) => !dismissed().includes(b.id)).map((b) => render(b, box)));
}

async function readStatus() {
  // A plain fetch: an older server without the endpoint (404) or any failure here shows nothing.
  try {
    const res = await fetch('/api/server/status', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    return res.ok ? await res.json() : null;
  } catch { return null; }
}

/** The banners a status reply calls for: [{id, kind, text}]. */
export function banners(status) {
  const out = [];
  if (status?.storage?.same_disk_as_data === true) {
    out.push({ id: 'same-disk', kind: 'danger', text: 'Backups are kept on the same disk as the data — a lost disk loses both. Set LABELVAULT_STORAGE_URL to a WebDAV, S3, Azure or GCS storage.' });
  }
  const j = status?.journal;
  if (j && (j.last_error || (typeof j.lag_seconds === 'number' && j.lag_seconds > 60))) {
    const why = j.last_error || `the last one is ${Math.round(j.lag_seconds / 60)} min old, ${j.pending ?? 0} change(s) waiting`;
    out.push({ id: 'journal-behind', kind: 'warn', text: `Backups are behind: ${why}` });
  }
  return out;
}

function dismissed() {
  try { return JSON.parse(sessionStorage.getItem(DISMISSED) || '[]'); } catch { return []; }
}

function render(b, box) {
  const el = h('div', { class: `server-banner server-banner-${b.kind}`, role: 'alert', 'aria-label': b.kind === 'warn' ? 'Backup warning' : 'Backup risk' },
    h('span', {}, b.text),
    h('button', { type: 'button', 'aria-label': 'Dismiss', title: 'Dismiss until the next session', onclick: () => {
      sessionStorage.setItem(DISMISSED, JSON.stringify([...dismissed(), b.id]));
      el.remove();
      if (!box.children.length) box.replaceChildren();
    } }, '×'));
  return el;
}
