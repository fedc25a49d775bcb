// Right panel: drawing label, filters, virtualised object list (refused objects marked), the selected object's attributes.
import { icon } from '../icons.js';
import { h } from '../ui.js';
import { orientation, switchOrientation } from './cuboid.js';
import { FilterBar, objectsOn } from './filters.js';
import { snapshot } from './store.js';

const ROW = 30;

/** What a row says the object is: "tag", "rectangle", "rectangle track ◆" (on a keyframe), "group 3". */
function rowKind(o) {
  const kind = o.kind === 'tag' ? 'tag' : `${o.type}${o.track ? (o.keyframe ? ' track ◆' : ' track') : ''}`;
  return o.group ? `${kind}, group ${o.group}` : kind;
}

/**
 * ctx: {store, view (the renderer: frame, selection, filter), labels (a Labels), select(cid, opts),
 * toggleUi(cid, key), action(name)}.
 */
export class ObjectsPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.items = [];
    this.filters = new FilterBar(ctx.labels.list, ctx.store, () => this.filterChanged());
    this.drawLabel = h('select', { 'aria-label': 'Label for new objects', onchange: () => { ctx.labels.currentId = Number(this.drawLabel.value); } });
    this.count = h('span', { class: 'muted small', 'aria-live': 'polite' });
    this.spacer = h('div', { class: 'vlist-spacer' });
    this.rows = h('div', { class: 'vlist-rows' });
    this.list = h('div', { class: 'vlist', role: 'listbox', 'aria-label': 'Objects on this frame', tabindex: 0 }, this.spacer, this.rows);
    this.scrollY = 0;
    this.list.addEventListener('scroll', () => { this.scrollY = this.list.scrollTop; this.paintRows(); });
    // The list's height, kept up to date here: reading clientHeight while painting rows would force a layout each time.
    this.listHeight = 400;
    new ResizeObserver(([e]) => { this.listHeight = e.contentRect.height || 400; this.paintRows(); }).observe(this.list);
    this.details = h('div', { class: 'details', 'aria-label': 'Selected object' });
    this.el = h('aside', { class: 'ws-panel', 'aria-label': 'Objects panel' },
      h('div', { class: 'field' }, h('label', {}, 'Label'), this.drawLabel),
      this.filters.el,
      h('div', { class: 'row' },
        h('button', { type: 'button', title: 'Previous frame with objects matching the filter', 'aria-label': 'Previous matching frame', onclick: () => ctx.action('prev-match') }, '◀ match'),
        h('button', { type: 'button', title: 'Next frame with objects matching the filter', 'aria-label': 'Next matching frame', onclick: () => ctx.action('next-match') }, 'match ▶')),
      h('div', { class: 'row' }, h('strong', {}, 'Objects'), this.count, h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'icon', title: 'Hide or show all objects', 'aria-label': 'Hide all', onclick: () => ctx.action('hide-all') }, icon('eyeOff')),
        h('button', { type: 'button', class: 'icon', title: 'Lock or unlock all objects', 'aria-label': 'Lock all', onclick: () => ctx.action('lock-all') }, icon('lock'))),
      this.list, this.details);
  }

  setLabels(labels) {
    const opts = (all) => labels.map((l, i) => h('option', { value: l.id }, `${i < 9 ? `${i + 1}. ` : ''}${l.name}`));
    this.drawLabel.replaceChildren(...opts());
    if (labels[0]) this.drawLabel.value = String(this.ctx.labels.currentId ?? labels[0].id);
  }

  filterChanged() {
    this.ctx.view.filter = this.filters.predicate();
    this.ctx.view.invalidate('statics');
    this.refresh();
  }

  /** Rebuild the row model for the current frame; only the rows in view become DOM. */
  refresh(changed = null) {
    const { ctx } = this;
    const frame = ctx.view.frame;
    const f = ctx.view.filter;
    const shown = (o) => o && o.frame === frame && f(o);
    const key = `${frame}`;
    if (changed && this.itemsKey === key && this.itemsFilter === f && changed.size <= 64) {
      // A few objects changed: patch the rows in place instead of walking every object on the frame.
      for (const cid of changed) {
        const i = this.items.findIndex((o) => o.cid === cid);
        const o = ctx.store.get(cid);
        const keep = shown(o) && !(o.kind === 'shape' && o.outside);
        if (i >= 0 && keep) this.items[i] = o;
        else if (i >= 0) this.items.splice(i, 1);
        else if (keep) this.items.push(o);
      }
    } else {
      this.items = objectsOn(ctx.store, frame).filter(shown);
      this.itemsKey = key;
      this.itemsFilter = f;
    }
    this.count.textContent = `${this.items.length}`;
    this.spacer.style.height = `${this.items.length * ROW}px`;
    this.paintRows();
    this.paintDetails();
  }

  paintRows() {
    const top = this.scrollY;
    const first = Math.max(0, Math.floor(top / ROW) - 5);
    const last = Math.min(this.items.length, Math.ceil((top + this.listHeight) / ROW) + 5);
    const { ctx } = this;
    const rows = [];
    for (let i = first; i < last; i++) {
      const o = this.items[i];
      const ui = ctx.store.uiOf(o.cid);
      const label = ctx.labels.byId.get(o.label_id);
      const refused = ctx.store.refused.get(o.cid);
      const name = `${label?.name || o.label_id} ${o.kind === 'tag' ? 'tag' : o.type} ${ctx.store.serverId.get(o.cid) ?? 'new'}${refused ? `, not saved: ${refused}` : ''}`;
      rows.push(h('div', {
        class: `vrow${ctx.view.selected === o.cid ? ' selected' : ''}${refused ? ' refused' : ''}`, role: 'option', 'aria-selected': String(ctx.view.selected === o.cid),
        'aria-label': name, title: refused ? `Not saved: ${refused}` : null, style: { top: `${i * ROW}px` },
        onclick: () => ctx.select(o.cid, { focus: true }),
        onmouseenter: () => { ctx.view.hover = o.cid; ctx.view.invalidate('overlay'); },
      },
      h('span', { class: 'swatch', style: { background: label?.color || '#999' } }),
      h('span', { class: 'grow' }, `${label?.name || '?'}`, h('small', { class: 'muted' }, ` ${rowKind(o)}${ctx.store.serverId.has(o.cid) ? ` #${ctx.store.serverId.get(o.cid)}` : ' (new)'}`)),
      // Why the server refused it shows in the row itself: the annotator must not have to hunt for it.
      refused ? h('span', { class: 'refused-mark', 'aria-hidden': 'true' }, '⚠ not saved') : null,
      o.kind === 'shape' ? h('button', { type: 'button', class: 'icon', 'aria-pressed': String(ui.hidden), 'aria-label': `${ui.hidden ? 'Show' : 'Hide'} object`, onclick: (e) => { e.stopPropagation(); ctx.toggleUi(o.cid, 'hidden'); } }, icon(ui.hidden ? 'eyeOff' : 'eye')) : null,
      o.kind === 'shape' ? h('button', { type: 'button', class: 'icon', 'aria-pressed': String(ui.locked), 'aria-label': `${ui.locked ? 'Unlock' : 'Lock'} object`, onclick: (e) => { e.stopPropagation(); ctx.toggleUi(o.cid, 'locked'); } }, icon(ui.locked ? 'lock' : 'unlock')) : null));
    }
    this.rows.replaceChildren(...rows);
  }

  scrollTo(cid) {
    const i = this.items.findIndex((o) => o.cid === cid);
    if (i < 0) return;
    const top = i * ROW;
    if (top < this.scrollY || top > this.scrollY + this.listHeight - ROW) { this.list.scrollTop = top - this.listHeight / 2; this.scrollY = this.list.scrollTop; }
    this.paintRows();
  }

  paintDetails() {
    const { ctx } = this;
    const o = ctx.view.selected != null ? ctx.store.get(ctx.view.selected) : null;
    if (!o) { this.details.replaceChildren(h('p', { class: 'muted small' }, 'Select an object to edit its label and attributes.')); return; }
    const label = ctx.labels.byId.get(o.label_id);
    const labelSel = h('select', { 'aria-label': 'Object label', onchange: (e) => {
      const l = ctx.labels.byId.get(Number(e.target.value));
      ctx.store.update(o.cid, { label_id: l.id, attributes: ctx.labels.defaults(l) }, 'Change label');
    } }, ctx.labels.choicesFor(o)
      .map((l) => h('option', { value: l.id, selected: l.id === o.label_id }, l.name)));
    const attrs = (label?.attributes || []).map((a) => this.attrEditor(o, a));
    const ui = ctx.store.uiOf(o.cid);
    const refused = ctx.store.refused.get(o.cid);
    const flag = (name, text, checked, onchange) => h('label', {}, h('input', { type: 'checkbox', checked, onchange }), ` ${text}`);
    this.details.replaceChildren(...[
      h('h3', {}, `${label?.name || ''} ${o.kind === 'tag' ? 'tag' : o.type}`, h('small', { class: 'muted' }, ` #${ctx.store.serverId.get(o.cid) ?? 'unsaved'}`)),
      refused ? h('div', { class: 'refused-box', role: 'alert' },
        h('p', {}, h('strong', {}, 'The server refused this object: '), refused, '. Change it to save it again, or drop it.'),
        h('button', { type: 'button', onclick: () => ctx.store.drop(o.cid) }, ctx.store.serverId.has(o.cid) ? 'Drop my change' : 'Drop this object')) : null,
      h('div', { class: 'field' }, h('label', {}, 'Label'), labelSel),
      attrs,
      o.kind === 'shape' ? h('div', { class: 'flags' },
        flag('occluded', 'Occluded', !!o.occluded, (e) => ctx.store.update(o.cid, { occluded: e.target.checked }, 'Occluded')),
        flag('hidden', 'Hidden', ui.hidden, () => ctx.toggleUi(o.cid, 'hidden')),
        flag('locked', 'Locked', ui.locked, () => ctx.toggleUi(o.cid, 'locked'))) : null,
      o.kind === 'shape' ? h('div', { class: 'row' }, h('span', {}, `Z-order ${o.z_order ?? 0}`),
        h('button', { type: 'button', onclick: () => ctx.action('z-back') }, 'Send backward'),
        h('button', { type: 'button', onclick: () => ctx.action('z-front') }, 'Bring forward')) : null,
      o.type === 'skeleton' ? this.skeletonPoints(o) : null,
      o.type === 'cuboid' ? h('div', { class: 'row' }, h('span', {}, `Orientation: ${orientation(o.points)}`),
        h('button', { type: 'button', onclick: () => ctx.store.update(o.cid, { points: switchOrientation(o.points) }, 'Switch orientation') }, 'Switch orientation')) : null,
      o.type === 'rectangle' || o.type === 'ellipse' ? h('div', { class: 'field' }, h('label', { for: 'rot-in' }, 'Rotation (°)'),
        h('input', { id: 'rot-in', type: 'number', min: 0, max: 359, step: 1, value: Math.round(o.rotation || 0), onchange: (e) => ctx.store.update(o.cid, { rotation: ((Number(e.target.value) % 360) + 360) % 360 }, 'Rotate') })) : null,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => ctx.action('copy') }, 'Copy'),
        h('button', { type: 'button', onclick: () => ctx.action('propagate') }, 'Propagate'),
        h('button', { type: 'button', class: 'danger', onclick: () => ctx.action('force-delete') }, 'Delete object')),
    ].flat().filter(Boolean));
  }

  /** A skeleton's points, each with its own outside and occluded flags. */
  skeletonPoints(o) {
    const { ctx } = this;
    const label = ctx.labels.byId.get(o.label_id);
    const set = (i, key, value) => ctx.store.update(o.cid, { elements: o.elements.map((e, j) => (j === i ? { ...e, [key]: value } : e)) }, key === 'outside' ? 'Point outside' : 'Point occluded');
    return h('fieldset', { class: 'skeleton-points' }, h('legend', {}, 'Points'), (o.elements || []).map((e, i) => {
      const name = (label?.sublabels || []).find((s) => s.id === e.label_id)?.name || `point ${i + 1}`;
      return h('div', { class: 'row' }, h('span', { class: 'grow' }, name),
        h('label', {}, h('input', { type: 'checkbox', checked: !!e.outside, 'aria-label': `${name} outside`, onchange: (ev) => set(i, 'outside', ev.target.checked) }), ' Outside'),
        h('label', {}, h('input', { type: 'checkbox', checked: !!e.occluded, 'aria-label': `${name} occluded`, onchange: (ev) => set(i, 'occluded', ev.target.checked) }), ' Occluded'));
    }));
  }

  attrEditor(o, a) {
    const { ctx } = this;
    const value = o.attributes?.[a.id] ?? a.default_value ?? '';
    const set = (v) => ctx.store.update(o.cid, { attributes: { ...snapshot(o).attributes, [a.id]: String(v) } }, `Set ${a.name}`);
    const name = `Attribute ${a.name}`;
    let input;
    switch (a.input_type) {
      case 'checkbox':
        return h('label', { class: 'attr-check' }, h('input', { type: 'checkbox', checked: String(value) === 'true', 'aria-label': name, onchange: (e) => set(e.target.checked) }), a.name);
      case 'radio':
        return h('fieldset', { class: 'attr-field' }, h('legend', {}, a.name), a.values.map((v) => h('label', {}, h('input', { type: 'radio', name: `attr-${o.cid}-${a.id}`, value: v, checked: v === value, onchange: () => set(v) }), ` ${v} `)));
      case 'number': {
        const [min, max, step] = a.values.map(Number);
        input = h('input', { type: 'number', min, max, step: step || 1, value, 'aria-label': name, onchange: (e) => set(e.target.value) });
        break;
      }
      case 'text':
        input = h('input', { type: 'text', value, 'aria-label': name, onchange: (e) => set(e.target.value) });
        break;
      default:
        input = h('select', { 'aria-label': name, onchange: (e) => set(e.target.value) }, a.values.map((v) => h('option', { value: v, selected: v === value }, v)));
    }
    return h('div', { class: 'field attr-field' }, h('label', {}, a.name), input);
  }
}
