// REST client for LabelVault's CVAT-compatible API: session cookies, CSRF header, paging.

export class ApiError extends Error {
  constructor(status, body, url) {
    super(ApiError.describe(status, body));
    this.status = status;
    this.body = body;
    this.url = url;
  }

  // Turn DRF-style error bodies ({detail}, {field: [msgs]}, [msgs]) into one readable line.
  static describe(status, body) {
    if (body == null || body === '') return `Request failed (${status})`;
    if (typeof body === 'string') return body.slice(0, 300);
    if (Array.isArray(body)) return body.join(' ');
    if (body.detail) return typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
    return Object.entries(body)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join('; ');
  }
}

export function cookie(name) {
  const hit = document.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : '';
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ORG_KEY = 'lv.organization';

/** The organization the UI works in: a slug, '' for the personal workspace, null for no filter. */
export function currentOrg() { return localStorage.getItem(ORG_KEY); }
export function setOrg(slug) {
  if (slug === null || slug === undefined) localStorage.removeItem(ORG_KEY); else localStorage.setItem(ORG_KEY, slug);
  window.dispatchEvent(new CustomEvent('lv:organization', { detail: slug }));
}

/** fetch() with CSRF, JSON in/out and ApiError on non-2xx. */
export async function request(method, url, { json, body, headers = {}, raw = false, keepalive = false, signal } = {}) {
  const h = { ...headers };
  if (UNSAFE.has(method)) h['X-CSRFToken'] = cookie('csrftoken');
  // Every request carries the chosen organization, as cvat-sdk's organization context does.
  const org = currentOrg();
  if (org !== null && !('X-Organization' in h)) h['X-Organization'] = org;
  let payload = body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  const res = await fetch(url, { method, headers: h, body: payload, credentials: 'same-origin', keepalive, signal });
  if (raw) {
    if (!res.ok) throw new ApiError(res.status, await readBody(res), url);
    return res;
  }
  const data = await readBody(res);
  if (!res.ok) {
    if (res.status === 401 && !url.includes('/auth/login')) window.dispatchEvent(new CustomEvent('lv:unauthorized'));
    throw new ApiError(res.status, data, url);
  }
  return data;
}

async function readBody(res) {
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

export const get = (url, opts) => request('GET', url, opts);
export const post = (url, json, opts = {}) => request('POST', url, { ...opts, json });
export const patch = (url, json, opts = {}) => request('PATCH', url, { ...opts, json });
export const put = (url, json, opts = {}) => request('PUT', url, { ...opts, json });
export const del = (url, opts) => request('DELETE', url, opts);

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** One CVAT page: {count, next, previous, results}. */
export const list = (path, params) => get(`${path}${qs(params)}`);

/** Every page of a collection (labels of a project, jobs of a task). */
export async function listAll(path, params = {}) {
  const out = [];
  for (let page = 1; ; page++) {
    const data = await list(path, { ...params, page, page_size: 500 });
    out.push(...data.results);
    if (!data.next) return out;
  }
}

export const auth = {
  login: (username, password) => post('/api/auth/login', { username, password }),
  logout: () => post('/api/auth/logout', {}),
  self: () => get('/api/users/self'),
  oidc: () => get('/api/auth/oidc'),
};

/** Poll /api/requests/{id} until finished/failed, reporting progress. */
export async function waitRequest(rqId, onProgress = () => {}, intervalMs = 500) {
  for (;;) {
    const rq = await get(`/api/requests/${encodeURIComponent(rqId)}`);
    onProgress(rq);
    if (rq.status === 'finished') return rq;
    if (rq.status === 'failed') throw new Error(rq.message || 'The request failed');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Upload files to a task: Upload-Start, batches of Upload-Multiple (small files), TUS for big
 * files (resumable in 8 MB chunks), then Upload-Finish with the data params; returns rq_id.
 */
export async function uploadTaskData(taskId, files, params, onProgress = () => {}) {
  const base = `/api/tasks/${taskId}/data/`;
  const total = files.reduce((s, f) => s + f.size, 0) || 1;
  let sent = 0;
  const tick = (n) => { sent += n; onProgress(Math.min(1, sent / total)); };
  await request('POST', base, { headers: { 'Upload-Start': 'true' } });
  const BIG = 4 * 1024 * 1024;
  const small = files.filter((f) => f.size < BIG);
  const big = files.filter((f) => f.size >= BIG);
  for (let i = 0; i < small.length;) {
    const form = new FormData();
    let bytes = 0;
    let j = 0;
    while (i < small.length && (j === 0 || (bytes + small[i].size < 16 * 1024 * 1024 && j < 50))) {
      form.append(`client_files[${j}]`, small[i], small[i].name);
      bytes += small[i].size;
      i++; j++;
    }
    await request('POST', base, { body: form, headers: { 'Upload-Multiple': 'true' } });
    tick(bytes);
  }
  for (const file of big) await tusUpload(base, file, tick);
  const finish = { ...params, upload_file_order: files.map((f) => f.name) };
  const res = await request('POST', base, { json: finish, headers: { 'Upload-Finish': 'true' } });
  return res.rq_id;
}

async function tusUpload(base, file, tick) {
  const meta = `filename ${btoa(unescape(encodeURIComponent(file.name)))},filetype ${btoa(file.type || 'application/octet-stream')}`;
  const res = await request('POST', base, {
    raw: true,
    headers: { 'Upload-Length': String(file.size), 'Upload-Metadata': meta, 'Tus-Resumable': '1.0.0' },
  });
  const location = res.headers.get('Location');
  const CHUNK = 8 * 1024 * 1024;
  let offset = 0;
  while (offset < file.size) {
    const chunk = file.slice(offset, offset + CHUNK);
    let tries = 0;
    for (;;) {
      try {
        const r = await request('PATCH', location, {
          raw: true,
          body: chunk,
          headers: { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', 'Tus-Resumable': '1.0.0' },
        });
        offset = Number(r.headers.get('Upload-Offset') || offset + chunk.size);
        tick(chunk.size);
        break;
      } catch (err) {
        // Resume from the server's offset after a dropped connection, a few times.
        if (++tries > 5) throw err;
        await new Promise((r) => setTimeout(r, 1000 * tries));
        const head = await request('HEAD', location, { raw: true, headers: { 'Tus-Resumable': '1.0.0' } });
        offset = Number(head.headers.get('Upload-Offset') || offset);
      }
    }
  }
}
