// Small DOM helpers shared by screens: element builder, toasts, pager, dialogs, formatting.

/** h('button', {onclick, 'aria-label': 'x'}, 'text', child) — attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function toast(message, kind = 'info', ms = 4000) {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(t);
  setTimeout(() => t.remove(), ms);
  return t;
}

/** A message block for a failed request; 404/400 from unbuilt endpoints read as "not available yet". */
export function errorBox(err, what = 'This') {
  const status = err?.status;
  const text = status === 404 || status === 405
    ? `${what} is not available on this server yet.`
    : `${what} failed: ${err?.message || err}`;
  return h('p', { class: 'error', role: 'alert' }, text);
}

/** Prev/next pager for CVAT list envelopes. */
export function pager(data, page, pageSize, onPage) {
  const pages = Math.max(1, Math.ceil(data.count / pageSize));
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: page <= 1, onclick: () => onPage(page - 1) }, '‹ Previous'),
    h('span', {}, `Page ${page} of ${pages} · ${data.count} total`),
    h('button', { type: 'button', disabled: page >= pages, onclick: () => onPage(page + 1) }, 'Next ›'));
}

/** A modal <dialog>; returns {dialog, close}. Content gets a Close button. */
export function modal(title, ...content) {
  const dialog = h('dialog', { class: 'modal', 'aria-label': title },
    h('header', {}, h('h2', {}, title), h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', onclick: () => close() }, '×')),
    ...content);
  const close = () => { dialog.close(); dialog.remove(); };
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

export function progressBar(label) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': label });
  const text = h('span', { class: 'muted' }, '');
  const el = h('div', { class: 'progress' }, bar, text);
  return { el, set(v, msg = '') { bar.value = v; text.textContent = `${Math.round(v * 100)}% ${msg}`; } };
}

/** Images served by the API, with cookies; falls back to a neutral box when missing. */
export function preview(url, alt) {
  const img = h('img', { src: url, alt, loading: 'lazy', class: 'preview' });
  img.addEventListener('error', () => img.replaceWith(h('div', { class: 'preview preview-empty', 'aria-label': alt }, 'No preview')));
  return img;
}
