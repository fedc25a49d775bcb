// Create task: name, project or own labels, data from four sources, advanced options, live progress.
import { get, list, listAll, post, request, uploadTaskData, waitRequest } from '../api.js';
import { labelsEditor } from '../labels_editor.js';
import { navigate } from '../router.js';
import { errorBox, field, h, progressBar } from '../ui.js';

export async function render(el, _params, query) {
  const projects = await list('/api/projects', { page_size: 200 }).then((d) => d.results).catch(() => []);
  const name = h('input', { name: 'name', required: true });
  const project = h('select', { name: 'project' }, h('option', { value: '' }, '— none (own labels) —'),
    projects.map((p) => h('option', { value: p.id, selected: String(p.id) === query.project_id }, `#${p.id} ${p.name}`)));
  const editor = labelsEditor([]);
  const labelsBox = h('div', { class: 'labels-box' }, h('h3', {}, 'Labels'), editor.el);
  const syncLabels = () => { labelsBox.hidden = !!project.value; };
  project.addEventListener('change', syncLabels);
  syncLabels();

  // Data sources, one tab each; each returns {files} or {server_files, cloud_storage_id} or {remote_files}.
  const sources = [myComputer(), share(), remote(), cloud()];
  let active = 0;
  const panels = h('div', {}, sources.map((s, i) => { s.el.hidden = i !== 0; s.el.setAttribute('role', 'tabpanel'); return s.el; }));
  const tabs = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Data source' }, sources.map((s, i) => h('button', {
    type: 'button', role: 'tab', 'aria-selected': String(i === 0),
    onclick: (e) => { active = i; for (const [j, t] of [...tabs.children].entries()) t.setAttribute('aria-selected', String(j === i)); sources.forEach((x, j) => { x.el.hidden = j !== i; }); if (s.open) s.open(); e.currentTarget.focus(); },
  }, s.title)));

  const adv = {
    image_quality: h('input', { type: 'number', min: 1, max: 100, value: 70, name: 'image_quality' }),
    segment_size: h('input', { type: 'number', min: 0, name: 'segment_size', placeholder: 'all frames in one job' }),
    overlap: h('input', { type: 'number', min: 0, name: 'overlap' }),
    sorting_method: h('select', { name: 'sorting_method' }, ['lexicographical', 'natural', 'predefined', 'random'].map((s) => h('option', { value: s }, s))),
    frame_step: h('input', { type: 'number', min: 1, name: 'frame_step', placeholder: '1' }),
    start_frame: h('input', { type: 'number', min: 0, name: 'start_frame' }),
    stop_frame: h('input', { type: 'number', min: 0, name: 'stop_frame' }),
    subset: h('input', { name: 'subset', placeholder: 'train / val / test' }),
  };
  const advanced = h('details', { class: 'advanced' }, h('summary', {}, 'Advanced configuration'),
    h('div', { class: 'grid2' },
      field('Image quality', adv.image_quality), field('Segment size', adv.segment_size), field('Overlap size', adv.overlap),
      field('Sorting method', adv.sorting_method), field('Frame step', adv.frame_step), field('Start frame', adv.start_frame),
      field('Stop frame', adv.stop_frame), field('Subset', adv.subset)));

  const bar = progressBar('Task creation progress');
  bar.el.hidden = true;
  const status = h('p', { role: 'status', class: 'muted' });
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit & Open');

  const form = h('form', { class: 'card form', onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    const data = sources[active].value();
    if (!data) { err.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Choose the data for the task first.')); return; }
    submit.disabled = true;
    bar.el.hidden = false;
    let task;
    try {
      const body = { name: name.value.trim() };
      if (project.value) body.project_id = Number(project.value); else body.labels = editor.value().filter((l) => !l.deleted);
      if (adv.segment_size.value) body.segment_size = Number(adv.segment_size.value);
      if (adv.overlap.value) body.overlap = Number(adv.overlap.value);
      if (adv.subset.value) body.subset = adv.subset.value;
      status.textContent = 'Creating the task…';
      task = await post('/api/tasks', body);
      const params = { image_quality: Number(adv.image_quality.value) || 70, sorting_method: adv.sorting_method.value };
      if (adv.frame_step.value > 1) params.frame_filter = `step=${adv.frame_step.value}`;
      if (adv.start_frame.value !== '') params.start_frame = Number(adv.start_frame.value);
      if (adv.stop_frame.value !== '') params.stop_frame = Number(adv.stop_frame.value);
      let rqId;
      if (data.files) {
        status.textContent = `Uploading ${data.files.length} files…`;
        rqId = await uploadTaskData(task.id, data.files, params, (p) => bar.set(p * 0.5, 'uploading'));
      } else {
        status.textContent = 'Sending the file list…';
        rqId = (await request('POST', `/api/tasks/${task.id}/data/`, { json: { ...params, ...data } })).rq_id;
      }
      await waitRequest(rqId, (rq) => { bar.set(0.5 + 0.5 * (rq.progress || 0), rq.status); status.textContent = rq.message || `Processing: ${rq.status}`; });
      bar.set(1, 'done');
      status.textContent = 'The task is ready.';
      navigate(`/tasks/${task.id}`);
    } catch (ex) {
      err.replaceChildren(errorBox(ex, 'Creating the task'), task ? h('p', {}, 'The task was created without data: ', h('a', { href: `/tasks/${task.id}` }, `open task #${task.id}`)) : null);
      submit.disabled = false;
    }
  } },
  field('Name', name), field('Project', project), labelsBox,
  h('h3', {}, 'Data'), tabs, panels, advanced, bar.el, status, err,
  h('div', { class: 'row' }, submit, h('button', { type: 'button', onclick: () => history.back() }, 'Cancel')));
  el.append(h('section', { class: 'page narrow' }, h('h1', {}, 'Create a new task'), form));
  name.focus();
}

function myComputer() {
  let files = [];
  const input = h('input', { type: 'file', multiple: true, accept: 'image/*,video/*,.zip,.tar,.pdf', 'aria-label': 'Choose files', onchange: () => set([...input.files]) });
  const listEl = h('p', { class: 'muted' }, 'No files chosen.');
  const drop = h('div', { class: 'dropzone', tabindex: 0, role: 'button', 'aria-label': 'Drop files here or click to choose',
    onclick: () => input.click(), onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') input.click(); },
    ondragover: (e) => { e.preventDefault(); drop.classList.add('over'); }, ondragleave: () => drop.classList.remove('over'),
    ondrop: (e) => { e.preventDefault(); drop.classList.remove('over'); set([...e.dataTransfer.files]); } },
  'Drag files here, or click to choose', input);
  function set(fs) { files = fs; listEl.textContent = files.length ? `${files.length} file(s), ${(files.reduce((s, f) => s + f.size, 0) / 1e6).toFixed(1)} MB: ${files.slice(0, 5).map((f) => f.name).join(', ')}${files.length > 5 ? '…' : ''}` : 'No files chosen.'; }
  return { title: 'My computer', el: h('div', {}, drop, listEl), value: () => (files.length ? { files } : null) };
}

function share() {
  const chosen = new Set();
  const tree = h('ul', { class: 'tree', role: 'tree', 'aria-label': 'Connected share' });
  const info = h('div');
  let loaded = false;
  async function dir(path, ul) {
    try {
      const items = await get(`/api/server/share?directory=${encodeURIComponent(path)}`);
      ul.replaceChildren(...items.map((it) => {
        const full = `${path.replace(/\/$/, '')}/${it.name}`;
        const box = h('input', { type: 'checkbox', 'aria-label': `Select ${full}`, onchange: (e) => { if (e.target.checked) chosen.add(full + (it.type === 'DIR' ? '/' : '')); else chosen.delete(full + (it.type === 'DIR' ? '/' : '')); } });
        if (it.type !== 'DIR') return h('li', { role: 'treeitem' }, h('label', {}, box, ` ${it.name}`));
        const sub = h('ul', { role: 'group' });
        const det = h('details', { ontoggle: () => { if (det.open && !sub.childElementCount) dir(full, sub); } }, h('summary', {}, box, ` 📁 ${it.name}`), sub);
        return h('li', { role: 'treeitem' }, det);
      }));
      if (!items.length) ul.append(h('li', { class: 'muted' }, 'Empty folder'));
    } catch (err) { info.replaceChildren(errorBox(err, 'The connected share')); }
  }
  return { title: 'Connected share', el: h('div', {}, info, tree), open: () => { if (!loaded) { loaded = true; dir('/', tree); } },
    value: () => (chosen.size ? { server_files: [...chosen].map((p) => p.replace(/^\//, '')) } : null) };
}

function remote() {
  const area = h('textarea', { rows: 6, 'aria-label': 'Remote URLs, one per line', placeholder: 'https://example.com/image1.jpg' });
  return { title: 'Remote sources', el: h('div', {}, field('URLs (one per line)', area)),
    value: () => { const urls = area.value.split('\n').map((s) => s.trim()).filter(Boolean); return urls.length ? { remote_files: urls } : null; } };
}

function cloud() {
  const storage = h('select', { 'aria-label': 'Cloud storage' });
  const files = h('ul', { class: 'tree', 'aria-label': 'Cloud storage files' });
  const info = h('div');
  const chosen = new Set();
  let loaded = false;
  async function open() {
    if (loaded) return;
    loaded = true;
    try {
      const all = await listAll('/api/cloudstorages');
      storage.replaceChildren(h('option', { value: '' }, all.length ? 'Choose a storage' : 'No cloud storage attached'), ...all.map((s) => h('option', { value: s.id }, s.display_name || `#${s.id}`)));
    } catch (err) { info.replaceChildren(errorBox(err, 'Cloud storage')); }
  }
  storage.addEventListener('change', async () => {
    chosen.clear();
    files.replaceChildren();
    if (!storage.value) return;
    try {
      const data = await get(`/api/cloudstorages/${storage.value}/content-v2?prefix=`);
      files.append(...(data.content || []).map((it) => h('li', {}, h('label', {}, h('input', { type: 'checkbox', onchange: (e) => { if (e.target.checked) chosen.add(it.name); else chosen.delete(it.name); } }), ` ${it.name}`))));
    } catch (err) { info.replaceChildren(errorBox(err, 'Listing the storage')); }
  });
  return { title: 'Cloud storage', el: h('div', {}, info, field('Storage', storage), files), open,
    value: () => (chosen.size ? { cloud_storage_id: Number(storage.value), server_files: [...chosen] } : null) };
}
