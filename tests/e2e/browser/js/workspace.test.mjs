// Pure-logic tests of the workspace modules (geometry, spatial index, undo, shortcuts) for `node --test`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const base = new URL('../../../../src/labelvault/web/static/js/workspace/', import.meta.url);
const g = await import(new URL('geometry.js', base));
const { GridIndex } = await import(new URL('spatial.js', base));
const { UndoStack } = await import(new URL('undo.js', base));
const { Keymap, comboOf } = await import(new URL('shortcuts.js', base));

test('rectangle hit test honours rotation', () => {
  const r = { type: 'rectangle', points: [0, 0, 100, 10], rotation: 0 };
  assert.ok(g.hit(r, 50, 5, 0));
  assert.ok(!g.hit(r, 50, 40, 0));
  const rot = { ...r, rotation: 90 };
  assert.ok(g.hit(rot, 50, 40, 0)); // now a vertical bar through the centre
  assert.ok(!g.hit(rot, 5, 5, 0));
});

test('polygon, polyline and ellipse hits', () => {
  const poly = { type: 'polygon', points: [0, 0, 10, 0, 10, 10, 0, 10] };
  assert.ok(g.hit(poly, 5, 5));
  assert.ok(!g.hit(poly, 20, 20));
  const line = { type: 'polyline', points: [0, 0, 100, 0] };
  assert.ok(g.hit(line, 50, 2, 3));
  assert.ok(!g.hit(line, 50, 10, 3));
  const ell = { type: 'ellipse', points: [50, 50, 70, 40] }; // rx 20, ry 10
  assert.ok(g.hit(ell, 65, 50, 0));
  assert.ok(!g.hit(ell, 50, 65, 0));
  assert.deepEqual(g.bbox(ell), [30, 40, 70, 60]);
});

test('pick prefers higher z-order, then the smaller shape', () => {
  const big = { type: 'rectangle', points: [0, 0, 100, 100], z_order: 0 };
  const small = { type: 'rectangle', points: [40, 40, 60, 60], z_order: 0 };
  assert.equal(g.pick([big, small], 50, 50, 0), small);
  const top = { ...big, z_order: 1 };
  assert.equal(g.pick([top, small], 50, 50, 0), top);
});

test('resizing a rotated box keeps the opposite corner in place', () => {
  const pts = [0, 0, 100, 50];
  const corners = g.rectCorners(pts, 30);
  const next = g.resizeBox(pts, 30, 'se', corners[2][0] + 10, corners[2][1] + 10);
  const after = g.rectCorners(next, 30);
  assert.ok(Math.hypot(after[0][0] - corners[0][0], after[0][1] - corners[0][1]) < 1e-6);
});

test('mask RLE round trip matches the server format', () => {
  const w = 6; const h = 4;
  const alpha = new Uint8Array(w * h);
  for (const [x, y] of [[2, 1], [3, 1], [2, 2], [3, 2], [4, 2]]) alpha[y * w + x] = 1;
  const pts = g.encodeMask(alpha, w, h);
  assert.deepEqual(pts.slice(-4), [2, 1, 4, 2]);
  assert.deepEqual(pts.slice(0, -4), [0, 2, 1, 3]);
  const d = g.decodeMask(pts);
  assert.equal(d.w, 3); assert.equal(d.h, 2);
  assert.deepEqual([...d.alpha], [1, 1, 0, 1, 1, 1]);
  assert.ok(g.maskPixel(pts, 4, 2));
  assert.ok(!g.maskPixel(pts, 4, 1));
});

test('grid index finds boxes in a rectangle and near a point', () => {
  const idx = new GridIndex(10);
  idx.insert(1, [0, 0, 5, 5]);
  idx.insert(2, [50, 50, 60, 60]);
  idx.insert(3, [-1000, -1000, 100000, 100000]); // huge: stored once, still found
  const found = [];
  idx.query([40, 40, 70, 70], (id) => found.push(id));
  assert.deepEqual(found.sort(), [2, 3]);
  assert.deepEqual(idx.around(2, 2, 1).sort(), [1, 3]);
  idx.remove(2);
  assert.deepEqual(idx.around(55, 55, 1), [3]);
  idx.insert(1, [55, 55, 56, 56]); // moving an id replaces its box
  assert.deepEqual(idx.around(2, 2, 1), [3]);
});

test('undo stack: redo is dropped by a new change', () => {
  const u = new UndoStack(2);
  u.push('a'); u.push('b'); u.push('c');
  assert.equal(u.undo(), 'c');
  assert.equal(u.undo(), 'b');
  assert.equal(u.undo(), null); // the limit dropped 'a'
  assert.equal(u.redo(), 'b');
  u.push('d');
  assert.equal(u.canRedo, false);
});

test('shortcuts: CVAT defaults, overrides and conflicts', () => {
  const k = new Keymap();
  const ev = (key, code, mods = {}) => ({ key, code, ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods });
  assert.equal(k.action(ev('f', 'KeyF')), 'next-frame');
  assert.equal(k.action(ev('d', 'KeyD')), 'prev-frame');
  assert.equal(k.action(ev('Z', 'KeyZ', { ctrlKey: true, shiftKey: true })), 'redo');
  assert.equal(k.action(ev('z', 'KeyZ', { metaKey: true })), 'undo');
  assert.equal(k.action(ev('+', 'Equal', { shiftKey: true })), 'z-front');
  assert.equal(k.action(ev('!', 'Digit1', { ctrlKey: true, shiftKey: true })), null);
  assert.equal(comboOf(ev('1', 'Digit1', { ctrlKey: true })), 'Ctrl+1');
  assert.deepEqual(k.conflicts(), []);
  k.set('hide', ['F']);
  assert.deepEqual(k.conflicts(), [['F', ['next-frame', 'hide']]]);
  assert.deepEqual(new Keymap(k.overrides()).map.hide.keys, ['F']);
});
