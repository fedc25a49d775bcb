// Label constructor shared by project and task forms: labels, types, colours, attributes, skeleton points, raw JSON.
import { h } from './ui.js';

export const LABEL_TYPES = ['any', 'rectangle', 'polygon', 'polyline', 'points', 'ellipse', 'cuboid', 'mask', 'skeleton', 'tag'];
export const INPUT_TYPES = ['select', 'radio', 'checkbox', 'number', 'text'];
const PALETTE = ['#33ddff', '#fa3253', '#34d1b7', '#ff007c', '#ff6037', '#ddff33', '#24b353', '#b83df5', '#66ff66', '#32b7fa', '#ffcc33', '#83e070'];

export const randomColor = (i) => PALETTE[i % PALETTE.length];

/** Mounts the constructor; returns {el, value(): labels for the API}. Existing labels keep ids; removed ones are sent with deleted:true. */
export function labelsEditor(initial = []) {
  let labels = structuredClone(initial).map(normalise);
  const removed = [];
  let mode = 'constructor';
  const body = h('div', { class: 'labels-body' });
  const raw = h('textarea', { class: 'raw-json', rows: 14, 'aria-label': 'Labels as JSON', spellcheck: false });
  const rawErr = h('p', { class: 'error', role: 'alert', hidden: true });
  const tabs = h('div', { role: 'tablist', class: 'tabs' },
    h('button', { type: 'button', role: 'tab', 'aria-selected': 'true', onclick: () => switchTo('constructor') }, 'Constructor'),
    h('button', { type: 'button', role: 'tab', 'aria-selected': 'false', onclick: () => switchTo('raw') }, 'Raw'));

  function normalise(l) {
    return { ...l, type: l.type || 'any', color: l.color || randomColor(0), attributes: (l.attributes || []).map((a) => ({ ...a })), sublabels: l.sublabels || [] };
  }

  function switchTo(m) {
    if (m === mode) return;
    if (m === 'raw') {
      raw.value = JSON.stringify(clean(labels), null, 2);
    } else {
      try { labels = JSON.parse(raw.value).map(normalise); rawErr.hidden = true; } catch (e) {
        rawErr.textContent = `The JSON is not valid: ${e.message}`; rawErr.hidden = false; return;
      }
    }
    mode = m;
    for (const [i, b] of [...tabs.children].entries()) b.setAttribute('aria-selected', String((i === 0) === (m === 'constructor')));
    draw();
  }

  function clean(ls) {
    return ls.map((l) => {
      const out = { name: l.name, color: l.color, type: l.type, attributes: l.attributes.map((a) => {
        const o = { name: a.name, mutable: !!a.mutable, input_type: a.input_type, default_value: a.default_value ?? '', values: a.values || [] };
        if (a.id) o.id = a.id;
        return o;
      }) };
      if (l.id) out.id = l.id;
      if (l.type === 'skeleton') {
        out.sublabels = (l.sublabels || []).map((s) => ({ ...(s.id && { id: s.id }), name: s.name, type: 'points', color: s.color || l.color, attributes: [] }));
        out.svg = l.svg || skeletonSvg(out.sublabels);
      }
      return out;
    });
  }

  function skeletonSvg(points) {
    // Points on a circle as a starting layout; CVAT stores the template as SVG.
    return points.map((p, i) => {
      const a = (2 * Math.PI * i) / Math.max(points.length, 1);
      return `<circle r="1.5" cx="${(50 + 35 * Math.cos(a)).toFixed(1)}" cy="${(50 + 35 * Math.sin(a)).toFixed(1)}" data-type="element node" data-element-id="${i + 1}" data-node-id="${i + 1}" data-label-name="${p.name}"></circle>`;
    }).join('');
  }

  function draw() {
    if (mode === 'raw') { body.replaceChildren(raw, rawErr); return; }
    const nameIn = h('input', { placeholder: 'Label name', 'aria-label': 'New label name' });
    const add = () => {
      const name = nameIn.value.trim();
      if (!name) return;
      labels.push(normalise({ name, color: randomColor(labels.length) }));
      draw();
      body.querySelector('.add-label input')?.focus();
    };
    nameIn.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } });
    body.replaceChildren(
      h('div', { class: 'add-label' }, nameIn, h('button', { type: 'button', onclick: add }, 'Add label')),
      ...labels.map((l, i) => labelCard(l, i)));
  }

  function labelCard(l, i) {
    const name = h('input', { value: l.name, 'aria-label': `Label ${i + 1} name`, oninput: (e) => { l.name = e.target.value; } });
    const color = h('input', { type: 'color', value: l.color, 'aria-label': `Colour of ${l.name}`, oninput: (e) => { l.color = e.target.value; } });
    const type = h('select', { 'aria-label': `Type of ${l.name}`, onchange: (e) => { l.type = e.target.value; draw(); } },
      LABEL_TYPES.map((t) => h('option', { value: t, selected: t === l.type }, t)));
    const attrs = h('div', { class: 'attrs' }, l.attributes.map((a, j) => attrRow(l, a, j)));
    const children = [
      h('div', { class: 'row' }, name, color, type,
        h('button', { type: 'button', onclick: () => { l.attributes.push({ name: '', input_type: 'select', mutable: false, values: [], default_value: '' }); draw(); } }, 'Add attribute'),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Remove label ${l.name}`, onclick: () => { if (l.id) removed.push({ id: l.id, name: l.name, deleted: true }); labels.splice(i, 1); draw(); } }, 'Remove')),
      attrs,
    ];
    if (l.type === 'skeleton') {
      const pts = h('input', { value: (l.sublabels || []).map((s) => s.name).join(', '), 'aria-label': `Skeleton points of ${l.name}`, placeholder: 'nose, left eye, right eye',
        onchange: (e) => { l.sublabels = e.target.value.split(',').map((s) => s.trim()).filter(Boolean).map((n) => ({ ...(l.sublabels.find((s) => s.name === n) || {}), name: n })); l.svg = undefined; } });
      children.push(h('label', { class: 'row' }, 'Skeleton points ', pts));
    }
    return h('fieldset', { class: 'label-card', style: { borderLeftColor: l.color } }, h('legend', {}, l.name || 'New label'), ...children);
  }

  function attrRow(l, a, j) {
    const name = h('input', { value: a.name, placeholder: 'Attribute name', 'aria-label': `Attribute ${j + 1} name of ${l.name}`, oninput: (e) => {
      a.name = e.target.value;
      // Keep the neighbours' accessible names in step with the attribute's name.
      type.setAttribute('aria-label', `Input type of attribute ${a.name || j + 1}`);
      values.setAttribute('aria-label', `Values of attribute ${a.name || j + 1}`);
    } });
    const type = h('select', { 'aria-label': `Input type of attribute ${a.name || j + 1}`, onchange: (e) => { a.input_type = e.target.value; if (a.input_type === 'checkbox') { a.values = ['false']; } draw(); } },
      INPUT_TYPES.map((t) => h('option', { value: t, selected: t === a.input_type }, t)));
    const hint = { select: 'values, comma-separated', radio: 'values, comma-separated', checkbox: 'default: true or false', number: 'min, max, step', text: 'default text' }[a.input_type];
    const values = h('input', { value: (a.values || []).join(', '), placeholder: hint, 'aria-label': `Values of attribute ${a.name || j + 1}`,
      oninput: (e) => { a.values = e.target.value.split(',').map((s) => s.trim()).filter((s) => s !== ''); a.default_value = a.values[0] ?? ''; } });
    const mutable = h('input', { type: 'checkbox', checked: !!a.mutable, onchange: (e) => { a.mutable = e.target.checked; } });
    return h('div', { class: 'row attr' }, name, type, values, h('label', {}, mutable, ' Mutable'),
      h('button', { type: 'button', class: 'icon', 'aria-label': `Remove attribute ${a.name || j + 1}`, onclick: () => { l.attributes.splice(j, 1); draw(); } }, '×'));
  }

  draw();
  return {
    el: h('div', { class: 'labels-editor' }, tabs, body),
    value() {
      if (mode === 'raw') labels = JSON.parse(raw.value).map(normalise);
      return [...clean(labels), ...removed];
    },
  };
}
