// Admin tab "Models": registered models (kind, labels, health check), add one, enable/disable, remove.
import { del, get, patch, post } from '../api.js';
import { errorBox, field, h, toast } from '../ui.js';

const KINDS = ['deepaas', 'onnx', 'function', 'lsml'];
const EXAMPLES = {
  deepaas: '{"url": "http://127.0.0.1:5000", "model": "yolov8", "shapes": ["rectangle"]}',
  onnx: '{"path": "/srv/models/detector.onnx", "input_size": [640, 640], "output": "detection"}',
  function: '{"file": "/srv/models/my_function.py"}',
  lsml: '{"url": "http://127.0.0.1:9090"}',
};

/** Renders the models tab into `body` (the admin screen checks the user is an admin). */
export function models(body) {
  const rows = h('tbody');
  async function load() {
    try {
      const data = await get('/api/models');
      rows.replaceChildren(...data.map(row));
      if (!data.length) rows.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No model is registered yet.')));
    } catch (err) { rows.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, errorBox(err, 'Listing models')))); }
  }
  function row(m) {
    const health = h('span', { role: 'status', 'aria-label': `Health of ${m.name}` }, 'not checked');
    const check = async () => {
      health.textContent = 'checking…';
      health.className = 'muted';
      try {
        const r = await post(`/api/models/${m.id}/check`);
        health.textContent = `${r.ok ? 'ok' : 'error'}: ${r.message} (${Math.round(r.latency_ms)} ms)`;
        health.className = r.ok ? 'success' : 'error';
      } catch (e) { health.textContent = `error: ${e.message}`; health.className = 'error'; }
    };
    const labels = (m.labels || []).map((l) => (l.type && l.type !== 'any' ? `${l.name} (${l.type})` : l.name)).join(', ');
    return h('tr', {},
      h('td', {}, h('strong', {}, m.name), m.description ? h('div', { class: 'muted small' }, m.description) : null),
      h('td', {}, m.kind), h('td', {}, m.function_kind), h('td', {}, labels || h('span', { class: 'muted' }, 'none')),
      h('td', {}, h('label', {}, h('input', { type: 'checkbox', checked: m.enabled, 'aria-label': `Enabled: ${m.name}`, onchange: async (e) => {
        try { await patch(`/api/models/${m.id}`, { enabled: e.target.checked }); toast(`${m.name} ${e.target.checked ? 'enabled' : 'disabled'}`, 'success'); } catch (ex) { toast(ex.message, 'error'); load(); }
      } }), m.enabled ? ' enabled' : ' disabled')),
      h('td', {}, h('button', { type: 'button', 'aria-label': `Check ${m.name}`, onclick: check }, 'Check'), ' ', health),
      h('td', {}, h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${m.name}`, onclick: async () => {
        if (!confirm(`Remove model ${m.name}?`)) return;
        try { await del(`/api/models/${m.id}`); toast(`Model ${m.name} removed`, 'success'); load(); } catch (ex) { toast(ex.message, 'error'); }
      } }, 'Remove')));
  }

  const f = {
    name: h('input', { name: 'model-name', required: true, pattern: '[a-zA-Z0-9_.\\-]{1,64}' }),
    kind: h('select', { name: 'kind' }, KINDS.map((k) => h('option', { value: k }, k))),
    fkind: h('select', { name: 'function-kind' }, h('option', { value: 'detector' }, 'detector'), h('option', { value: 'interactor' }, 'interactor (clicks)')),
    labels: h('input', { name: 'labels', placeholder: 'person, car:rectangle' }),
    description: h('input', { name: 'description' }),
    config: h('textarea', { name: 'config', rows: 3, cols: 60, spellcheck: false }),
  };
  f.config.placeholder = EXAMPLES.deepaas;
  f.kind.addEventListener('change', () => { f.config.placeholder = EXAMPLES[f.kind.value]; });
  const err = h('div');
  const form = h('form', { class: 'card form', 'aria-label': 'Add model', onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    let config;
    try { config = JSON.parse(f.config.value.trim() || '{}'); } catch (ex) { err.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Config is not JSON: ${ex.message}`)); return; }
    const labels = f.labels.value.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
      const [name, type] = s.split(':').map((x) => x.trim());
      return type ? { name, type } : { name };
    });
    try {
      await post('/api/models', { name: f.name.value.trim(), kind: f.kind.value, function_kind: f.fkind.value, description: f.description.value, labels, config });
      toast(`Model ${f.name.value} added`, 'success');
      form.reset();
      load();
    } catch (ex) { err.replaceChildren(errorBox(ex, 'Adding the model')); }
  } }, h('h2', {}, 'Add a model'),
  h('div', { class: 'row' }, field('Name', f.name), field('Kind', f.kind), field('Function', f.fkind), field('Labels', f.labels, 'comma-separated; name:type for a shape type'), field('Description', f.description)),
  field('Config (JSON)', f.config, 'deepaas: url, model, shapes · onnx: path, input_size, output · function: file or module · lsml: url'),
  h('button', { type: 'submit', class: 'primary' }, 'Add model'), err);
  body.append(form, h('table', { class: 'table', 'aria-label': 'Models' },
    h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Function', 'Labels', 'Enabled', 'Health', ''].map((c) => h('th', {}, c)))), rows));
  load();
}
