// Export / import dataset and backup dialogs for projects and tasks (CVAT's request-based endpoints).
import { get, qs, request, waitRequest } from './api.js';
import { errorBox, field, h, modal, progressBar, toast } from './ui.js';

async function formats() {
  try { return await get('/api/server/annotation/formats'); } catch { return { exporters: [], importers: [] }; }
}

async function runRequest(startPromise, bar, out) {
  const res = await startPromise;
  const rqId = res?.rq_id;
  if (!rqId) return res;
  const rq = await waitRequest(rqId, (r) => bar.set(r.progress || 0, r.status));
  bar.set(1, 'finished');
  if (rq.result_url) {
    out.replaceChildren(h('a', { class: 'button primary', href: rq.result_url, download: '' }, 'Download'));
  }
  return rq;
}

/** kind = 'projects' | 'tasks' */
export async function exportDialog(kind, id, { backup = false } = {}) {
  const bar = progressBar('Export progress');
  const out = h('div');
  const err = h('div');
  const fmts = backup ? null : await formats();
  const fmt = h('select', { name: 'format' }, (fmts?.exporters || []).map((f) => h('option', { value: f.name, disabled: f.enabled === false }, f.name)));
  const images = h('input', { type: 'checkbox', name: 'save_images' });
  const go = h('button', { type: 'button', class: 'primary', onclick: async () => {
    go.disabled = true;
    err.replaceChildren();
    try {
      const url = backup ? `/api/${kind}/${id}/backup/export`
        : `/api/${kind}/${id}/dataset/export${qs({ format: fmt.value, save_images: images.checked })}`;
      await runRequest(request('POST', url, { json: {} }), bar, out);
      toast('Export ready', 'success');
    } catch (e) { err.replaceChildren(errorBox(e, backup ? 'Backup' : 'Export')); go.disabled = false; }
  } }, backup ? 'Back up now' : 'Export');
  const content = backup ? [] : (fmts.exporters.length ? [field('Format', fmt), h('label', {}, images, ' Save images')] : [h('p', { class: 'muted' }, 'No export formats are offered by this server yet.')]);
  modal(backup ? 'Back up' : 'Export dataset', h('div', { class: 'modal-body' }, ...content, go, bar.el, out, err));
}

export async function importDialog(kind, id) {
  const bar = progressBar('Import progress');
  const err = h('div');
  const fmts = await formats();
  const fmt = h('select', { name: 'format' }, fmts.importers.map((f) => h('option', { value: f.name }, f.name)));
  const file = h('input', { type: 'file', 'aria-label': 'Dataset file' });
  const go = h('button', { type: 'button', class: 'primary', onclick: async () => {
    if (!file.files[0]) { err.replaceChildren(h('p', { class: 'error' }, 'Choose a file first.')); return; }
    go.disabled = true;
    err.replaceChildren();
    try {
      const form = new FormData();
      form.append(kind === 'projects' ? 'dataset_file' : 'annotation_file', file.files[0]);
      const path = kind === 'projects' ? 'dataset' : 'annotations';
      await runRequest(request('POST', `/api/${kind}/${id}/${path}/${qs({ format: fmt.value })}`, { body: form }), bar, h('div'));
      toast('Import finished', 'success');
    } catch (e) { err.replaceChildren(errorBox(e, 'Import')); go.disabled = false; }
  } }, 'Import');
  modal(kind === 'projects' ? 'Import dataset' : 'Upload annotations',
    h('div', { class: 'modal-body' }, fmts.importers.length ? field('Format', fmt) : h('p', { class: 'muted' }, 'No import formats are offered by this server yet.'), field('File', file), go, bar.el, err));
}

/** The automatic backups kept in the storage (/api/backups): list, download, restore, back up now. */
export async function backupsPanel(kind, id) {
  const box = h('div', { class: 'backups' });
  const target = kind === 'projects' ? 'project_id' : 'task_id';
  const list = h('div');
  const refresh = async () => {
    try {
      const data = await get(`/api/backups${qs({ [target]: id, page_size: 50 })}`);
      const items = data.results || [];
      list.replaceChildren(items.length ? h('ul', {}, items.map((b) => h('li', {},
        `${b.kind === 'full' ? 'Full' : 'Annotations'} · ${new Date(b.created_date).toLocaleString()} · ${Math.ceil(b.size / 1024)} KB `,
        b.status !== 'ok' ? h('span', { class: 'muted' }, `(${b.status}) `) : null,
        h('a', { href: `/api/backups/${b.id}/download`, download: '' }, 'Download'), ' ',
        h('button', { type: 'button', onclick: async () => {
          try {
            const r = await request('POST', `/api/backups/${b.id}/restore`, { json: { mode: 'new' } });
            if (r?.rq_id) await waitRequest(r.rq_id);
            toast('Restored', 'success');
          } catch (e) { toast(e.message, 'error'); }
        } }, 'Restore')))) : h('p', { class: 'muted' }, 'No backups yet.'));
    } catch (err) { list.replaceChildren(errorBox(err, 'The list of backups')); }
  };
  const now = (backupKind, text) => h('button', { type: 'button', onclick: async () => {
    try {
      const r = await request('POST', '/api/backups', { json: { [target]: id, kind: backupKind } });
      if (r?.rq_id) await waitRequest(r.rq_id);
      toast('Backup stored', 'success');
      refresh();
    } catch (e) { toast(e.message, 'error'); }
  } }, text);
  box.append(h('div', { class: 'row' }, now('full', 'Store a full backup now'), ' ',
    now('annotations', 'Store an annotations backup now')), list);
  await refresh();
  return box;
}
