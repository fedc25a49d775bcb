// The shortcuts dialog: every action with its keys, rebinding one by pressing keys, reset to CVAT's defaults.
import { h, modal, toast } from '../ui.js';
import { Keymap, comboOf } from './shortcuts.js';

export const KEYMAP_KEY = 'labelvault:keymap';

/** The user's keymap (CVAT defaults with their overrides from localStorage). */
export function loadKeymap() { return new Keymap(JSON.parse(localStorage.getItem(KEYMAP_KEY) || '{}')); }

/** Opens the dialog over `keymap`; `replace(keymap)` is called when the user resets to defaults. */
export function showShortcuts(keymap, replace) {
  const rows = Object.entries(keymap.map).map(([action, { name, keys }]) => {
    const cell = h('td', {}, keys.join(', '));
    return h('tr', {}, h('td', {}, name), cell, h('td', {}, h('button', { type: 'button', 'aria-label': `Change shortcut for ${name}`, onclick: (e) => {
      const b = e.currentTarget;
      b.textContent = 'Press keys…';
      const grab = (ev) => {
        const combo = comboOf(ev);
        if (!combo) return;
        ev.preventDefault(); ev.stopPropagation();
        window.removeEventListener('keydown', grab, true);
        keymap.set(action, [combo]);
        localStorage.setItem(KEYMAP_KEY, JSON.stringify(keymap.overrides()));
        cell.textContent = combo;
        b.textContent = 'Change';
        const clash = keymap.conflicts().find(([k]) => k === combo);
        if (clash) toast(`${combo} is also bound to: ${clash[1].filter((a) => a !== action).join(', ')}`, 'error');
      };
      window.addEventListener('keydown', grab, true);
    } }, 'Change')));
  });
  modal('Keyboard shortcuts', h('div', { class: 'modal-body scroll' },
    h('p', { class: 'muted small' }, 'CVAT’s default keys. Drawing: drag or click twice for boxes; click points and double-click, Enter or N to finish polygons. Shift+click an edge adds a vertex, Alt+click a vertex removes it. Wheel zooms, Space/right-drag pans.'),
    h('table', { class: 'table' }, h('tbody', {}, rows)),
    h('button', { type: 'button', onclick: () => { localStorage.removeItem(KEYMAP_KEY); replace(new Keymap()); toast('Shortcuts reset', 'success'); } }, 'Reset to defaults')));
}
