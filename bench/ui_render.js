// Page side of bench/ui_render.py: measurements run inside the workspace (window.labelvault).
window.lvBench = {
  /** The workspace as it is (true), or as it was before layers moved by transform, bitmaps and paced playback (false). */
  setFast(on) {
    const ws = window.labelvault;
    ws.renderer.setFast(on);
    ws.frameCache.bitmaps = on;
    ws.frameCache.images.clear();
    ws.player.paced = on;
  },

  /** Each single edit timed from the store commit to its frame drawn and the object list refreshed. */
  async edits(n) {
    const ws = window.labelvault; const r = ws.renderer; const st = ws.store;
    const spec = ws.labels.list[0].attributes[0];
    const time = (fn) => { const t0 = performance.now(); fn(); r.draw(); ws.panel.refresh(); return performance.now() - t0; };
    const made = [];
    const kinds = {
      create: (i) => {
        const x = 100 + ((i * 37) % 3000); const y = 100 + ((i * 53) % 2000);
        made.push(ws.create({ type: 'rectangle', points: [x, y, x + 40, y + 30] }));
      },
      move: (i) => {
        const o = st.get(made[i]);
        st.commit('Move', [{ cid: o.cid, after: { ...o, points: o.points.map((v) => v + 7) } }]);
      },
      attribute: (i) => st.update(made[i], { attributes: { [spec.id]: i % 2 ? 'a' : 'b' } }, 'Set'),
      delete: (i) => st.commit('Delete', [{ cid: made[i], after: null }]),
    };
    const out = {};
    for (const [kind, fn] of Object.entries(kinds)) {
      const times = [];
      for (let i = 0; i < n; i++) {
        times.push(time(() => fn(i)));
        await new Promise((res) => requestAnimationFrame(res));
      }
      const first = times[0];
      times.sort((a, b) => a - b);
      out[kind] = {
        median: times[times.length >> 1], max: times[times.length - 1], first,
        over16: times.filter((t) => t > 16).length, n,
      };
    }
    return out;
  },

  /**
   * A pan or zoom gesture for `ms`, one step per animation frame, pausing 200 ms every 40 frames (the
   * sharp layer is then redrawn, a slice per frame): fps over the whole time and the worst frame's work.
   */
  async gesture(kind, ms) {
    const r = window.labelvault.renderer;
    const works = [];
    const draw = r.draw;
    r.draw = function timed() { const t = performance.now(); draw.call(this); works.push(performance.now() - t); };
    const steps = {
      pan: (i) => r.panBy(i % 60 < 30 ? 4 : -4, i % 40 < 20 ? 3 : -3),
      zoom: (i) => r.zoomAt(r.width / 2, r.height / 2, i % 60 < 30 ? 1.02 : 1 / 1.02),
    };
    const frame = () => new Promise((res) => requestAnimationFrame(res));
    await frame();
    const t0 = performance.now();
    let frames = 0; let i = 0;
    while (performance.now() - t0 < ms) {
      if (i % 40 === 39) {
        const p0 = performance.now();
        while (performance.now() - p0 < 200) { await frame(); frames++; }
      }
      steps[kind](i++);
      await frame(); frames++;
    }
    r.draw = draw;
    return { fps: (frames * 1000) / (performance.now() - t0), worst: Math.max(0, ...works) };
  },

  /** Play from the first frame at `fps` until `n` frames were shown: frames shown per second. */
  async play(fps, n) {
    const ws = window.labelvault;
    await ws.goTo(ws.frames[0]);
    ws.player.fps = fps;
    const f0 = ws.frames[0];
    const t0 = performance.now();
    ws.player.play();
    while (ws.frame < f0 + n && ws.player.playing) await new Promise((res) => setTimeout(res, 5));
    const shown = ws.frame - f0;
    const secs = (performance.now() - t0) / 1000;
    ws.player.stop();
    return { shown, fps: shown / secs };
  },
};
