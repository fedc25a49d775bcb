// Keymap: CVAT's default shortcuts, user overrides, conflict detection, key-event normalisation.

export const DEFAULT_KEYMAP = {
  'draw-again': { name: 'Repeat last draw / finish drawing', keys: ['N'] },
  'next-frame': { name: 'Next frame', keys: ['F'] },
  'prev-frame': { name: 'Previous frame', keys: ['D'] },
  'forward-step': { name: 'Forward 10 frames', keys: ['V'] },
  'backward-step': { name: 'Back 10 frames', keys: ['C'] },
  save: { name: 'Save job', keys: ['Ctrl+S'] },
  undo: { name: 'Undo', keys: ['Ctrl+Z'] },
  redo: { name: 'Redo', keys: ['Ctrl+Shift+Z', 'Ctrl+Y'] },
  cancel: { name: 'Cancel / select tool', keys: ['Escape'] },
  delete: { name: 'Delete object', keys: ['Delete', 'Backspace'] },
  'force-delete': { name: 'Delete object even if locked', keys: ['Shift+Delete'] },
  copy: { name: 'Copy object', keys: ['Ctrl+C'] },
  paste: { name: 'Paste object', keys: ['Ctrl+V'] },
  propagate: { name: 'Propagate object to next frames', keys: ['Ctrl+B'] },
  play: { name: 'Play / pause (hold and drag to pan)', keys: ['Space'] },
  keyframe: { name: 'Make / remove keyframe (tracks)', keys: ['K'] },
  outside: { name: 'Toggle outside (tracks)', keys: ['O'] },
  'next-keyframe': { name: 'Next keyframe', keys: ['R'] },
  'prev-keyframe': { name: 'Previous keyframe', keys: ['E'] },
  lock: { name: 'Lock / unlock object', keys: ['L'] },
  hide: { name: 'Hide / show object', keys: ['H'] },
  occluded: { name: 'Toggle occluded', keys: ['Q', '/'] },
  'z-back': { name: 'Send to background', keys: ['-'] },
  'z-front': { name: 'Bring to foreground', keys: ['+', '='] },
  'zoom-fit': { name: 'Fit image', keys: ['Ctrl+0'] },
  'label-1': { name: 'Switch to label 1', keys: ['Ctrl+1'] },
  'label-2': { name: 'Switch to label 2', keys: ['Ctrl+2'] },
  'label-3': { name: 'Switch to label 3', keys: ['Ctrl+3'] },
  'label-4': { name: 'Switch to label 4', keys: ['Ctrl+4'] },
  'label-5': { name: 'Switch to label 5', keys: ['Ctrl+5'] },
  'label-6': { name: 'Switch to label 6', keys: ['Ctrl+6'] },
  'label-7': { name: 'Switch to label 7', keys: ['Ctrl+7'] },
  'label-8': { name: 'Switch to label 8', keys: ['Ctrl+8'] },
  'label-9': { name: 'Switch to label 9', keys: ['Ctrl+9'] },
  merge: { name: 'Merge into a track (press, click objects, press again)', keys: ['M'] },
  split: { name: 'Split the selected track here', keys: ['Alt+M'] },
  group: { name: 'Group objects (press, click objects, press again)', keys: ['G'] },
  ungroup: { name: 'Ungroup objects', keys: ['Shift+G'] },
  'draw-label-1': { name: 'Draw with label 1', keys: ['1'] },
  'draw-label-2': { name: 'Draw with label 2', keys: ['2'] },
  'draw-label-3': { name: 'Draw with label 3', keys: ['3'] },
  'draw-label-4': { name: 'Draw with label 4', keys: ['4'] },
  'draw-label-5': { name: 'Draw with label 5', keys: ['5'] },
  'draw-label-6': { name: 'Draw with label 6', keys: ['6'] },
  'draw-label-7': { name: 'Draw with label 7', keys: ['7'] },
  'draw-label-8': { name: 'Draw with label 8', keys: ['8'] },
  'draw-label-9': { name: 'Draw with label 9', keys: ['9'] },
  'next-match': { name: 'Next frame with objects matching the filter', keys: [] },
  'prev-match': { name: 'Previous frame with objects matching the filter', keys: [] },
  'next-with-objects': { name: 'Next frame with objects', keys: [] },
  'next-empty': { name: 'Next frame without objects', keys: [] },
  'hide-all': { name: 'Hide / show all objects', keys: [] },
  'lock-all': { name: 'Lock / unlock all objects', keys: [] },
  fullscreen: { name: 'Fullscreen', keys: [] },
  help: { name: 'Show shortcuts', keys: ['F1', '?'] },
  'next-object': { name: 'Select next object', keys: ['Tab'] },
  'prev-object': { name: 'Select previous object', keys: ['Shift+Tab'] },
};

const NAMED = { ' ': 'Space', Esc: 'Escape', Del: 'Delete' };

/** "Ctrl+Shift+Z" from a KeyboardEvent-like object; Meta counts as Ctrl so macOS works alike. */
export function comboOf(e) {
  let key = NAMED[e.key] || e.key;
  if (!key || ['Control', 'Shift', 'Alt', 'Meta'].includes(key)) return '';
  // Ctrl+digit and letters come from the physical key, so Shift or layouts do not change them.
  let physical = true;
  if (e.code && /^Digit\d$/.test(e.code) && (e.ctrlKey || e.metaKey)) key = e.code.slice(5);
  else if (e.code && /^Key[A-Z]$/.test(e.code)) key = e.code.slice(3);
  else { physical = false; if (key.length === 1) key = key.toUpperCase(); }
  const parts = [];
  if (e.ctrlKey || e.metaKey) parts.push('Ctrl');
  if (e.altKey) parts.push('Alt');
  // Shift is part of punctuation like "+" or "?", so only keep it for letters and named keys.
  if (e.shiftKey && (physical || key.length > 1)) parts.push('Shift');
  parts.push(key);
  return parts.join('+');
}

export class Keymap {
  constructor(overrides = {}) {
    this.map = structuredClone(DEFAULT_KEYMAP);
    for (const [action, keys] of Object.entries(overrides)) if (this.map[action]) this.map[action].keys = keys;
    this.rebuild();
  }

  rebuild() {
    this.byCombo = new Map();
    for (const [action, { keys }] of Object.entries(this.map)) for (const k of keys) if (!this.byCombo.has(k)) this.byCombo.set(k, action);
  }

  action(e) { return this.byCombo.get(comboOf(e)) || null; }

  set(action, keys) { this.map[action].keys = keys; this.rebuild(); }

  /** [[combo, [actions…]]] for combos bound to more than one action. */
  conflicts() {
    const seen = new Map();
    for (const [action, { keys }] of Object.entries(this.map)) for (const k of keys) seen.set(k, [...(seen.get(k) || []), action]);
    return [...seen].filter(([, a]) => a.length > 1);
  }

  overrides() {
    const out = {};
    for (const [action, { keys }] of Object.entries(this.map)) if (JSON.stringify(keys) !== JSON.stringify(DEFAULT_KEYMAP[action].keys)) out[action] = keys;
    return out;
  }
}
