// The Tag tool's question: which label tags this frame (only labels that may be tags are offered).
import { h, modal, toast } from '../ui.js';
import { canTag } from './labels.js';

/** Resolves to the chosen label, or null when there is none to choose or the dialog is closed. */
export function pickTagLabel(labels) {
  const usable = labels.filter(canTag);
  if (!usable.length) {
    toast('No label of this task can be a tag: add a label of type "Tag" or "Any".', 'error', 6000);
    return Promise.resolve(null);
  }
  return new Promise((done) => {
    let chosen = null;
    const { dialog, close } = modal('Tag this frame', h('div', { class: 'modal-body' },
      h('p', { class: 'muted small' }, 'Choose the label of the tag.'),
      h('div', { class: 'tag-choices', role: 'group', 'aria-label': 'Tag labels' }, usable.map((l) => h('button', {
        type: 'button', onclick: () => { chosen = l; close(); },
      }, h('span', { class: 'swatch', style: { background: l.color || '#999' } }), ` ${l.name}`)))));
    dialog.addEventListener('close', () => done(chosen));
    dialog.querySelector('.tag-choices button')?.focus();
  });
}
