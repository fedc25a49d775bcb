// Object filters of the panel (label, type, attribute value, occluded, source, id) and frame finding: by filter, by file name, with/without objects.
import { h } from '../ui.js';

const TYPES = ['rectangle', 'polygon', 'polyline', 'points', 'ellipse', 'cuboid', 'mask', 'skeleton', 'tag'];
const SOURCES = ['manual', 'auto', 'semi-auto', 'file', 'consensus'];

/** The filter controls; `onChange()` after any change. `predicate` tests an object (a tag is tested with its own type "tag"). */
export class FilterBar {
  constructor(labels, store, onChange) {
    this.store = store;
    const sel = (label, options, extra = {}) => h('select', { 'aria-label': label, onchange: onChange, ...extra }, options);
    const opt = (value, text) => h('option', { value }, text);
    this.label = sel('Filter by label', [opt('', 'All labels'), ...labels.map((l) => opt(l.id, l.name))]);
    this.type = sel('Filter by type', [opt('', 'All types'), ...TYPES.map((t) => opt(t, t))]);
    // Attribute values as "spec id=value" choices; free-text and number attributes match what is typed.
    const attrs = [];
    for (const l of labels) {
      for (const a of l.attributes || []) {
        const values = a.input_type === 'checkbox' ? ['true', 'false'] : a.input_type === 'text' || a.input_type === 'number' ? [] : a.values;
        for (const v of values) attrs.push(opt(`${a.id}=${v}`, `${l.name}: ${a.name} = ${v}`));
      }
    }
    this.attribute = sel('Filter by attribute value', [opt('', 'Any attribute values'), ...attrs]);
    this.occluded = sel('Filter by occluded', [opt('', 'Occluded or not'), opt('yes', 'Occluded'), opt('no', 'Not occluded')]);
    this.source = sel('Filter by source', [opt('', 'Any source'), ...SOURCES.map((s) => opt(s, s))]);
    this.id = h('input', { type: 'number', min: 1, placeholder: 'Id', 'aria-label': 'Filter by id', class: 'filter-id', onchange: onChange });
    this.el = h('div', { class: 'filters', role: 'group', 'aria-label': 'Filters' }, this.label, this.type, this.attribute, this.occluded, this.source, this.id);
  }

  get active() { return [this.label, this.type, this.attribute, this.occluded, this.source, this.id].some((c) => c.value !== ''); }

  /** A predicate for the current settings (objects as the store shows them; tags have type "tag"). */
  predicate() {
    const label = Number(this.label.value) || null;
    const type = this.type.value || null;
    const [spec, value] = this.attribute.value ? [Number(this.attribute.value.split('=')[0]), this.attribute.value.slice(this.attribute.value.indexOf('=') + 1)] : [null, null];
    const occluded = this.occluded.value || null;
    const source = this.source.value || null;
    const id = Number(this.id.value) || null;
    const { store } = this;
    if (!label && !type && spec == null && !occluded && !source && !id) return () => true;
    return (o) => (!label || o.label_id === label)
      && (!type || (o.kind === 'tag' ? 'tag' : o.type) === type)
      && (spec == null || String(o.attributes?.[spec] ?? '') === value)
      && (!occluded || (o.kind !== 'tag' && !!o.occluded === (occluded === 'yes')))
      && (!source || (o.source || 'manual') === source)
      && (!id || store.serverId.get(o.cid) === id);
  }
}

/** Objects (shapes, tracks shown there, tags) on a frame. */
export function objectsOn(store, frame) { return [...store.onFrame(frame, 'tag'), ...store.onFrame(frame, 'shape')]; }

/** The nearest frame after (dir 1) or before (dir -1) `current` where `test(objects)` holds, or null. */
export function findFrame(frames, current, dir, store, test) {
  const i = frames.indexOf(current);
  for (let j = i + dir; j >= 0 && j < frames.length; j += dir) if (test(objectsOn(store, frames[j]))) return frames[j];
  return null;
}

/** The first frame after `current` (wrapping round) whose file name contains `text`, case aside; or null. */
export function findByName(frames, names, current, text) {
  const needle = text.trim().toLowerCase();
  if (!needle) return null;
  const i = frames.indexOf(current);
  for (let n = 1; n <= frames.length; n++) {
    const j = (i + n) % frames.length;
    if ((names[j] || '').toLowerCase().includes(needle)) return frames[j];
  }
  return null;
}
