// Frame images of a job: a small decode cache with look-ahead, and the filmstrip of nearby frames.
import { h } from '../ui.js';

const frameUrl = (jobId, frame) => `/api/jobs/${jobId}/data?type=frame&quality=compressed&number=${frame}`;

export class FrameCache {
  constructor(jobId, size = 24) {
    this.jobId = jobId; this.size = size; this.images = new Map();
    // Decoded ImageBitmaps (decoded off the main thread, drawn without decoding again); false: <img> elements.
    this.bitmaps = typeof createImageBitmap === 'function';
  }

  /** The decoded image of `frame` (a promise, shared by every caller until it falls out of the cache). */
  load(frame) {
    let p = this.images.get(frame);
    if (!p) {
      if (this.bitmaps) {
        p = fetch(frameUrl(this.jobId, frame), { credentials: 'same-origin' })
          .then((r) => { if (!r.ok) throw new Error(`frame ${frame}: HTTP ${r.status}`); return r.blob(); })
          .then((b) => createImageBitmap(b));
      } else {
        const img = new Image();
        img.decoding = 'async';
        img.src = frameUrl(this.jobId, frame);
        p = img.decode().then(() => img);
      }
      p.catch(() => this.images.delete(frame)); // a failed load is tried again next time
      this.images.set(frame, p);
      if (this.images.size > this.size) this.images.delete(this.images.keys().next().value);
    }
    return p;
  }
}

/** Thumbnails of up to 13 frames around `current` into `box`; `go(frame)` on click. */
export function paintFilmstrip(box, jobId, frames, current, go) {
  const i = frames.indexOf(current);
  const from = Math.max(0, i - 6);
  const to = Math.min(frames.length, from + 13);
  box.replaceChildren(...frames.slice(from, to).map((f) => h('button', {
    type: 'button', class: `thumb${f === current ? ' current' : ''}`, 'aria-label': `Go to frame ${f}`, 'aria-current': f === current ? 'true' : null,
    onclick: () => go(f),
  }, h('img', { src: frameUrl(jobId, f), alt: '', loading: 'lazy' }), h('span', {}, String(f)))));
}
