// Rebase unsaved local changes onto the server's newer annotations: what applies cleanly, what both sides changed.
import { fromWire, sameObject } from './store.js';

/**
 * `entries` are changeEntries() of a pendingChanges() result (or of a stored journal); `server` is
 * GET /annotations; `version` is the one the entries were made against. Returns {keep, conflicts}: `keep` re-applies on top of the server as it is,
 * each conflict {entry, theirs} is an object both sides changed (theirs null: they deleted it).
 */
export function rebase(entries, server, { version = null } = {}) {
  // Entries without base states (old journals) are safe only if nobody saved since their version.
  const unchanged = version != null && version === server.version;
  const theirs = new Map();
  for (const s of server.shapes || []) theirs.set(s.id, fromWire(s, 'shape'));
  for (const t of server.tags || []) theirs.set(t.id, fromWire(t, 'tag'));
  for (const t of server.tracks || []) theirs.set(t.id, fromWire(t, 'track'));
  const keep = [];
  const conflicts = [];
  const claimed = new Set(entries.map((e) => e.id).filter((id) => id != null));
  for (const e of entries) {
    if (e.op === 'created') {
      // A create whose reply was lost (closed tab, dropped connection) is already there: don't add it twice.
      const twin = [...theirs].find(([id, t]) => !claimed.has(id) && sameObject(t, e.state));
      if (twin) { claimed.add(twin[0]); continue; }
      keep.push(e);
      continue;
    }
    const t = theirs.get(e.id) ?? null;
    if (e.op === 'deleted' && !t) continue; // deleted on both sides
    if (e.state && t && sameObject(t, e.state)) continue; // they already have our version
    const base = e.base ?? (unchanged ? t : null);
    if (t && base && sameObject(t, base)) { keep.push(e); continue; } // they did not touch it
    conflicts.push({ entry: e, theirs: t });
  }
  return { keep, conflicts };
}

/** The store actions ({id, state}) of one conflict's choice: 'mine', 'theirs' or 'both'. */
export function resolve({ entry, theirs }, choice) {
  if (choice === 'theirs') return [];
  if (choice === 'both') return entry.state ? [{ id: null, state: entry.state }] : [];
  if (!entry.state) return [{ id: entry.id, state: null }]; // mine: my delete wins
  return [{ id: theirs ? entry.id : null, state: entry.state }]; // deleted there: mine comes back as new
}

/** The store actions of entries that apply cleanly. */
export const actionsOf = (entries) => entries.map((e) => ({ id: e.op === 'created' ? null : e.id, state: e.state, refused: e.refused }));
