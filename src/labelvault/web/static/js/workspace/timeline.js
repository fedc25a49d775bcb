// The selected track's timeline under the canvas: its keyframes (click one to go there), where it is outside, the current frame.
import { h } from '../ui.js';

export class Timeline {
  /** ctx: {frames (the job's frames), goTo(frame)}. */
  constructor(ctx) {
    this.ctx = ctx;
    this.el = h('div', { class: 'ws-timeline', role: 'group', 'aria-label': 'Track timeline', hidden: true });
  }

  /** Show `track` (a stored track, or null to hide) with `frame` marked. */
  paint(track, frame) {
    if (!track) { this.el.hidden = true; this.el.replaceChildren(); return; }
    const { frames } = this.ctx;
    const first = frames[0]; const span = Math.max(1, frames.at(-1) - first);
    const at = (f) => `${((f - first) / span) * 100}%`;
    const keys = [...track.shapes].sort((a, b) => a.frame - b.frame);
    const parts = [];
    // Visible stretches: from each inside keyframe to the next keyframe (or the end of the job).
    keys.forEach((k, i) => {
      if (k.outside) return;
      const end = keys[i + 1]?.frame ?? frames.at(-1);
      parts.push(h('span', { class: 'tl-on', style: { left: at(k.frame), width: `calc(${at(end)} - ${at(k.frame)})` } }));
    });
    for (const k of keys) {
      parts.push(h('button', { type: 'button', class: `tl-key${k.outside ? ' outside' : ''}${k.frame === frame ? ' current' : ''}`,
        style: { left: at(k.frame) }, title: `Keyframe on frame ${k.frame}${k.outside ? ' (outside)' : ''}`,
        'aria-label': `Keyframe ${k.frame}${k.outside ? ' outside' : ''}`, onclick: () => this.ctx.goTo(k.frame) }));
    }
    parts.push(h('span', { class: 'tl-now', style: { left: at(frame) }, 'aria-hidden': 'true' }));
    this.el.hidden = false;
    this.el.replaceChildren(h('span', { class: 'tl-title muted small' }, `Track: ${keys.length} keyframe(s)`), h('div', { class: 'tl-bar' }, parts));
  }
}
