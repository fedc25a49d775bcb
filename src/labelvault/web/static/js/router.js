// History-API router: bookmarkable CVAT-style paths mapped to screen modules.

const routes = [];
let current = null;
let guard = null;

/** route('/tasks/:tid/jobs/:jid', loader) — loader() returns a module with render(el, params, query). */
export function route(pattern, loader) {
  const keys = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, k) => { keys.push(k); return '([^/]+)'; })}/?$`);
  routes.push({ re, keys, loader });
}

/** A hook run before leaving a screen; returning false keeps the user where they are. */
export function setLeaveGuard(fn) { guard = fn; }

export function navigate(path, { replace = false } = {}) {
  if (guard && guard() === false) return;
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  dispatch();
}

export function match(pathname) {
  for (const r of routes) {
    const m = pathname.match(r.re);
    if (m) return { route: r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

export async function dispatch() {
  const el = document.getElementById('app');
  const found = match(location.pathname);
  if (current?.destroy) { try { current.destroy(); } catch (e) { console.error(e); } }
  current = null;
  guard = null;
  if (!found) {
    el.innerHTML = '<section class="page"><h1>Not found</h1><p><a href="/projects">Back to projects</a></p></section>';
    return;
  }
  const mod = await found.route.loader();
  el.replaceChildren();
  const query = Object.fromEntries(new URLSearchParams(location.search));
  current = (await mod.render(el, found.params, query)) || null;
  window.dispatchEvent(new CustomEvent('lv:routed', { detail: location.pathname }));
}

export function start() {
  // Intercept same-origin links so navigation stays inside the app.
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', dispatch);
  return dispatch();
}
