// Log-in screen: username/password against /api/auth/login, or "Sign in with …" through the
// configured OIDC provider; then back to where the user was going.
import { auth } from '../api.js';
import { navigate } from '../router.js';
import * as session from '../session.js';
import { field, h } from '../ui.js';

export function render(el, _params, query) {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', {
    class: 'card login',
    'aria-label': 'Log in',
    onsubmit: async (e) => {
      e.preventDefault();
      err.hidden = true;
      try {
        await auth.login(user.value.trim(), pass.value);
        await session.loadSelf();
        const next = query.next && query.next.startsWith('/') && !query.next.startsWith('/login') ? query.next : '/projects';
        navigate(next, { replace: true });
      } catch (ex) {
        err.textContent = ex.status === 400 ? 'Wrong username or password.' : ex.message;
        err.hidden = false;
      }
    },
  },
  h('h1', {}, 'LabelVault'),
  h('p', { class: 'muted' }, 'Sign in to annotate.'),
  field('Username', user), field('Password', pass), err,
  h('button', { type: 'submit', class: 'primary' }, 'Log in'));
  el.append(h('section', { class: 'login-page' }, form));
  user.focus();
  const next = query.next && query.next.startsWith('/') && !query.next.startsWith('/login') ? query.next : '/projects';
  auth.oidc().then((cfg) => {
    if (!cfg.enabled) return;
    const link = h('a', {
      class: 'button sso',
      href: `${cfg.login_url}?next=${encodeURIComponent(next)}`,
    }, `Sign in with ${cfg.name}`);
    form.append(h('p', { class: 'muted or' }, 'or'), link);
  }).catch(() => { /* no SSO offered */ });
}
