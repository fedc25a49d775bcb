// Uniform-grid spatial index over shape bounding boxes: viewport culling and hit-test candidates.

export class GridIndex {
  constructor(cell = 128) {
    this.cell = cell;
    this.cells = new Map(); // "cx,cy" -> Set(id)
    this.boxes = new Map(); // id -> [x1, y1, x2, y2]
    this.stamp = 0;
    this.seen = new Map();
  }

  get size() { return this.boxes.size; }

  keys(b, fn) {
    const c = this.cell;
    const x1 = Math.floor(b[0] / c); const y1 = Math.floor(b[1] / c);
    const x2 = Math.floor(b[2] / c); const y2 = Math.floor(b[3] / c);
    // Huge boxes would touch thousands of cells; clamp to the grid's useful span.
    if ((x2 - x1 + 1) * (y2 - y1 + 1) > 4096) { fn('big'); return; }
    for (let y = y1; y <= y2; y++) for (let x = x1; x <= x2; x++) fn(`${x},${y}`);
  }

  insert(id, box) {
    if (this.boxes.has(id)) this.remove(id);
    this.boxes.set(id, box);
    this.keys(box, (k) => {
      let s = this.cells.get(k);
      if (!s) { s = new Set(); this.cells.set(k, s); }
      s.add(id);
    });
  }

  remove(id) {
    const box = this.boxes.get(id);
    if (!box) return;
    this.boxes.delete(id);
    this.keys(box, (k) => {
      const s = this.cells.get(k);
      if (s) { s.delete(id); if (!s.size) this.cells.delete(k); }
    });
  }

  /** Calls fn(id) once for every id whose box intersects rect [x1, y1, x2, y2]. */
  query(rect, fn) {
    const c = this.cell;
    const x1 = Math.floor(rect[0] / c); const y1 = Math.floor(rect[1] / c);
    const x2 = Math.floor(rect[2] / c); const y2 = Math.floor(rect[3] / c);
    const done = new Set();
    const visit = (s) => {
      if (!s) return;
      for (const id of s) {
        if (done.has(id)) continue;
        done.add(id);
        const b = this.boxes.get(id);
        if (b[2] >= rect[0] && b[0] <= rect[2] && b[3] >= rect[1] && b[1] <= rect[3]) fn(id);
      }
    };
    if ((x2 - x1 + 1) * (y2 - y1 + 1) > this.cells.size) {
      // The query spans more cells than exist: walking the occupied cells is cheaper.
      for (const s of this.cells.values()) visit(s);
    } else {
      for (let y = y1; y <= y2; y++) for (let x = x1; x <= x2; x++) visit(this.cells.get(`${x},${y}`));
      visit(this.cells.get('big'));
    }
  }

  around(x, y, tol) {
    const out = [];
    this.query([x - tol, y - tol, x + tol, y + tol], (id) => out.push(id));
    return out;
  }
}
