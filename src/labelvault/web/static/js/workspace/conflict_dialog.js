// The choice for objects changed on both sides: keep mine, take theirs, or keep both (mine becomes a new object).
import { h, modal } from '../ui.js';

const CHOICES = [['mine', 'Keep mine'], ['theirs', 'Take theirs'], ['both', 'Keep both']];

/**
 * Resolves to one choice per conflict. Closing the dialog without choosing keeps both for the
 * open ones: it is the only answer that throws nobody's work away.
 */
export function askConflicts(conflicts, describe) {
  return new Promise((done) => {
    const choices = conflicts.map(() => null);
    const rows = conflicts.map((c, i) => {
      const mine = c.entry.state ? 'you changed it' : 'you deleted it';
      const theirs = c.theirs ? 'someone else changed it' : 'someone else deleted it';
      const what = describe(c.theirs || c.entry.state || c.entry.base);
      const buttons = CHOICES.filter(([k]) => k !== 'both' || c.entry.state).map(([key, text]) => h('button', {
        type: 'button', 'aria-pressed': 'false', class: key === 'mine' ? 'primary' : null,
        onclick: (e) => {
          choices[i] = key;
          for (const b of e.currentTarget.parentElement.children) b.setAttribute('aria-pressed', String(b === e.currentTarget));
          if (choices.every(Boolean)) close();
        },
      }, text));
      return h('li', { class: 'conflict', 'aria-label': `Conflict: ${what}` },
        h('p', {}, h('strong', {}, what), ` — ${mine}, ${theirs}.`),
        h('div', { class: 'row', role: 'group', 'aria-label': `Choice for ${what}` }, buttons));
    });
    const { dialog, close } = modal('Someone else changed the same objects', h('div', { class: 'modal-body' },
      h('p', {}, `This job was saved in another session while you worked. Your other changes are kept. For ${conflicts.length === 1 ? 'this object' : `these ${conflicts.length} objects`}, choose which version stays:`),
      h('ul', { class: 'conflicts' }, rows)));
    dialog.addEventListener('close', () => done(choices.map((c) => c || 'both')));
  });
}
