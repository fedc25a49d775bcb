// Pure-logic tests of saving: the store's pending changes and confirmation, refused saves, merging a newer server version.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const base = new URL('../../../../src/labelvault/web/static/js/workspace/', import.meta.url);
const { AnnotationStore, changeEntries } = await import(new URL('store.js', base));
const { refusals } = await import(new URL('refusals.js', base));
const { rebase, resolve, actionsOf } = await import(new URL('merge.js', base));

const box = (id, x, extra = {}) => ({ id, type: 'rectangle', frame: 0, label_id: 1, points: [x, 0, x + 10, 10], attributes: [], group: 0, source: 'manual', occluded: false, outside: false, z_order: 0, rotation: 0, elements: [], ...extra });
const tag = (id, label = 1) => ({ id, frame: 0, label_id: label, attributes: [], group: 0, source: 'manual' });
const loaded = (version = 3) => { const s = new AnnotationStore(); s.load({ version, shapes: [box(10, 0), box(11, 50)], tags: [tag(12)] }); return s; };
const cidOf = (s, id) => s.cidOf(id);
const count = (p) => [...changeEntries(p)].length;

test('pendingChanges: creates, updates and deletes per kind, with the base version', () => {
  const s = loaded();
  assert.equal(count(s.pendingChanges()), 0);
  s.update(cidOf(s, 10), { points: [1, 1, 9, 9] }, 'Move');
  s.commit('Delete', [{ cid: cidOf(s, 12), after: null }]);
  const [cid] = s.commit('Draw', [{ after: { kind: 'shape', ...box(undefined, 100), id: undefined } }]);
  const p = s.pendingChanges();
  assert.equal(p.version, 3);
  assert.deepEqual(p.updated.shapes.map((e) => [e.id, e.state.points, e.base.points]), [[10, [1, 1, 9, 9], [0, 0, 10, 10]]]);
  assert.deepEqual(p.deleted.tags.map((e) => e.id), [12]);
  assert.deepEqual(p.created.shapes.map((e) => e.cid), [cid]);
  assert.equal(count(p), 3);
});

test('going back to the saved state leaves nothing to send', () => {
  const s = loaded();
  s.update(cidOf(s, 10), { points: [1, 1, 9, 9] });
  s.undo();
  const [cid] = s.commit('Draw', [{ after: { kind: 'shape', ...box(undefined, 1) } }]);
  s.commit('Delete', [{ cid, after: null }]);
  assert.equal(s.hasUnsaved, false);
});

test('confirm marks sent changes saved, maps new objects to server ids, keeps later edits pending', () => {
  const s = loaded();
  const [cid] = s.commit('Draw', [{ after: { kind: 'shape', ...box(undefined, 100) } }]);
  s.update(cidOf(s, 11), { z_order: 2 });
  const sent = s.pendingChanges();
  s.update(cidOf(s, 11), { z_order: 5 }); // edited while the save was under way
  s.confirm({ created: sent.created }, { version: 4, shapes: [{ id: 40 }] });
  s.confirm({ updated: sent.updated }, { version: 5, shapes: [] });
  assert.equal(s.serverId.get(cid), 40);
  assert.equal(s.version, 5);
  const left = s.pendingChanges();
  assert.equal(count(left), 1);
  assert.equal(left.updated.shapes[0].state.z_order, 5);
  assert.equal(left.updated.shapes[0].base.z_order, 2); // the base is what the server confirmed
});

test('a deleted object confirmed is gone from the server ids; undoing the delete makes it new', () => {
  const s = loaded();
  const cid = cidOf(s, 10);
  s.commit('Delete', [{ cid, after: null }]);
  const sent = s.pendingChanges();
  s.undo();
  s.confirm(sent, { version: 4 });
  const p = s.pendingChanges();
  assert.equal(s.serverId.has(cid), false);
  assert.deepEqual(p.created.shapes.map((e) => e.cid), [cid]);
});

test('refused objects stay pending, marked, until changed', () => {
  const s = loaded();
  const cid = cidOf(s, 12);
  s.update(cid, { label_id: 2 });
  s.refuse(new Map([[cid, "label 'car' is for rectangle, not tags"]]));
  assert.equal(s.pendingChanges().updated.tags[0].refused, "label 'car' is for rectangle, not tags");
  s.update(cid, { label_id: 3 });
  assert.equal(s.pendingChanges().updated.tags[0].refused, null);
  s.refuse(new Map([[cid, 'no']]));
  s.drop(cid); // back to the server's version: nothing left to send
  assert.equal(s.hasUnsaved, false);
});

test('refusals: structured errors by client id, id or index; text fallback by index', () => {
  const sent = { shapes: [{ cid: 7, id: null }, { cid: 8, id: null }], tags: [{ cid: 9, id: 30 }] };
  const structured = refusals({ detail: 'x', errors: [
    { kind: 'shapes', index: 0, id: null, client_id: 8, field: 'label_id', reason: 'bad label' },
    { kind: 'tags', index: 5, id: 30, client_id: null, field: 'label_id', reason: 'not a tag label' },
  ] }, sent);
  assert.deepEqual([...structured], [[8, 'bad label'], [9, 'not a tag label']]);
  const text = refusals({ detail: "Annotations were not saved: tags[0].label_id: label 'car' is for rectangle, not tags; shapes[1].points: must have 4 numbers" }, sent);
  assert.deepEqual([...text], [[9, "label 'car' is for rectangle, not tags"], [8, 'must have 4 numbers']]);
  assert.equal(refusals({ detail: 'body: not valid JSON' }, sent).size, 0);
});

test('rebase: untouched objects re-apply, same-object changes conflict, resolutions say what they do', () => {
  const s = loaded(3);
  s.update(cidOf(s, 10), { points: [5, 5, 15, 15] }); // they did not touch 10
  s.update(cidOf(s, 11), { points: [60, 0, 70, 10] }); // they moved 11 too
  s.commit('Delete', [{ cid: cidOf(s, 12), after: null }]); // they deleted 12 as well
  const [cid] = s.commit('Draw', [{ after: { kind: 'shape', ...box(undefined, 200) } }]);
  const server = { version: 5, shapes: [box(10, 0), box(11, 80), box(13, 300)], tags: [] };
  const { keep, conflicts } = rebase([...changeEntries(s.pendingChanges())], server);
  assert.deepEqual(keep.map((e) => e.op + (e.id ?? e.cid)).sort(), [`created${cid}`, 'updated10'].sort());
  assert.equal(conflicts.length, 1);
  const [c] = conflicts;
  assert.equal(c.entry.id, 11);
  assert.deepEqual(resolve(c, 'mine'), [{ id: 11, state: c.entry.state }]);
  assert.deepEqual(resolve(c, 'theirs'), []);
  assert.deepEqual(resolve(c, 'both'), [{ id: null, state: c.entry.state }]);

  s.reloadWith(server, [...actionsOf(keep), ...resolve(c, 'both')]);
  assert.equal(s.version, 5);
  const p = s.pendingChanges();
  assert.deepEqual(p.updated.shapes.map((e) => e.id), [10]);
  assert.equal(p.created.shapes.length, 2); // the drawn box, and my version of 11
  assert.deepEqual(s.get(s.cidOf(11)).points, [80, 0, 90, 10]); // theirs stays
  assert.ok(s.get(s.cidOf(13))); // their new object arrives
});

test('rebase: a change they deleted conflicts; keeping mine brings it back as new', () => {
  const s = loaded(3);
  s.update(cidOf(s, 10), { points: [5, 5, 15, 15] });
  const { conflicts } = rebase([...changeEntries(s.pendingChanges())], { version: 4, shapes: [box(11, 50)], tags: [tag(12)] });
  assert.equal(conflicts.length, 1);
  assert.equal(conflicts[0].theirs, null);
  assert.deepEqual(resolve(conflicts[0], 'mine'), [{ id: null, state: conflicts[0].entry.state }]);
});

test('rebase: a journal already saved (reply lost) is not applied twice', () => {
  const s = loaded(3);
  s.commit('Draw', [{ after: { kind: 'shape', ...box(undefined, 200) } }]);
  s.update(cidOf(s, 10), { points: [5, 5, 15, 15] });
  const entries = [...changeEntries(s.pendingChanges())];
  const server = { version: 5, shapes: [box(10, 5, { points: [5, 5, 15, 15] }), box(11, 50), box(40, 200)], tags: [tag(12)] };
  const { keep, conflicts } = rebase(entries, server, { version: 3 });
  assert.deepEqual([keep.length, conflicts.length], [0, 0]);
});

test('changes undone or deleted while their save was under way are still sent afterwards', () => {
  const s = loaded();
  const cid = cidOf(s, 10);
  s.update(cid, { points: [1, 1, 9, 9] });
  const sent = s.pendingChanges();
  s.undo(); // back to what the server had before this save
  s.confirm(sent, { version: 4 });
  assert.deepEqual(s.pendingChanges().updated.shapes.map((e) => e.state.points), [[0, 0, 10, 10]]);

  const [made] = s.commit('Draw', [{ after: { kind: 'shape', ...box(undefined, 100) } }]);
  const create = s.pendingChanges();
  s.commit('Delete', [{ cid: made, after: null }]);
  s.confirm({ created: create.created }, { version: 5, shapes: [{ id: 41 }] });
  assert.deepEqual(s.pendingChanges().deleted.shapes.map((e) => e.id), [41]);
});
