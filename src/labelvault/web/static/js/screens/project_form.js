// Create or edit a project: name, bug tracker and the label constructor.
import { get, patch, post } from '../api.js';
import { labelsEditor } from '../labels_editor.js';
import { navigate } from '../router.js';
import { errorBox, field, h } from '../ui.js';
import { listAll } from '../api.js';

export async function render(el, params) {
  const editing = params.id !== undefined;
  let project = null;
  let labels = [];
  if (editing) {
    try {
      project = await get(`/api/projects/${params.id}`);
      labels = await listAll('/api/labels', { project_id: params.id });
    } catch (err) { el.append(errorBox(err, 'Loading the project')); return; }
  }
  const name = h('input', { value: project?.name || '', required: true, name: 'name' });
  const tracker = h('input', { value: project?.bug_tracker || '', type: 'url', name: 'bug_tracker' });
  const editor = labelsEditor(labels.filter((l) => !l.has_parent));
  const err = h('div');
  const form = h('form', {
    class: 'card form',
    onsubmit: async (e) => {
      e.preventDefault();
      err.replaceChildren();
      try {
        const body = { name: name.value.trim(), bug_tracker: tracker.value.trim(), labels: editor.value() };
        if (!editing) body.labels = body.labels.filter((l) => !l.deleted);
        const saved = editing ? await patch(`/api/projects/${params.id}`, body) : await post('/api/projects', body);
        navigate(`/projects/${saved.id}`);
      } catch (ex) { err.replaceChildren(errorBox(ex, 'Saving the project')); }
    },
  },
  field('Name', name), field('Issue tracker', tracker, 'optional URL'),
  h('h2', {}, 'Labels'), editor.el, err,
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, editing ? 'Save project' : 'Create project'),
    h('button', { type: 'button', onclick: () => history.back() }, 'Cancel')));
  el.append(h('section', { class: 'page narrow' }, h('h1', {}, editing ? `Edit project #${params.id}` : 'Create a new project'), form));
  name.focus();
}
