// Catch up with a newer server version: fetch it, re-apply local changes on top, ask about objects both sides changed.
import { get } from '../api.js';
import { actionsOf, rebase, resolve } from './merge.js';
import { changeEntries } from './store.js';

/**
 * `entries` default to the store's pending changes (a refused stale save); a reload passes the
 * journal's entries and the annotations it already fetched. `ask(conflicts)` resolves to one
 * choice per conflict ('mine' | 'theirs' | 'both'). Returns {kept, conflicts} counts.
 */
export async function catchUp({ jobId, store, ask, entries = null, version = null, server = null }) {
  const data = server ?? await get(`/api/jobs/${jobId}/annotations`);
  // Taken after the fetch, so nothing edited while it ran is left out.
  const list = entries ?? [...changeEntries(store.pendingChanges())];
  const { keep, conflicts } = rebase(list, data, { version: version ?? store.version });
  const actions = actionsOf(keep);
  if (conflicts.length) {
    const choices = await ask(conflicts);
    conflicts.forEach((c, i) => actions.push(...resolve(c, choices[i])));
  }
  store.reloadWith(data, actions);
  return { kept: keep.length, conflicts: conflicts.length };
}
