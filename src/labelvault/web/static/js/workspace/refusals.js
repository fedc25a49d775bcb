// Which objects a refused save (400) names, and why: the server's "errors" list, or the detail text of older servers.

const PATH = /\b(tags|shapes|tracks)\[(\d+)\]([^:;]*):\s*(.*?)(?=;\s*(?:tags|shapes|tracks)\[\d+\]|$)/g;

/**
 * `sent` holds the entries of one request per kind ({shapes: [...], tags: [...]}, in request order).
 * Returns cid -> reason for each object the server named; empty when the body names none (then the
 * whole request failed for another reason and nothing can be set aside).
 */
export function refusals(body, sent) {
  const out = new Map();
  const add = (kind, index, reason, { id = null, clientId = null } = {}) => {
    const list = sent[kind] || [];
    const entry = (clientId != null && list.find((e) => e.cid === clientId))
      || (id != null && list.find((e) => e.id === id))
      || list[index];
    if (!entry) return;
    const prev = out.get(entry.cid);
    out.set(entry.cid, prev ? `${prev}; ${reason}` : reason);
  };
  if (Array.isArray(body?.errors)) {
    for (const e of body.errors) add(e.kind, e.index, e.reason || e.field || 'refused by the server', { id: e.id, clientId: e.client_id });
    return out;
  }
  const text = typeof body === 'string' ? body : typeof body?.detail === 'string' ? body.detail : '';
  for (const m of text.matchAll(PATH)) {
    const field = m[3].replace(/^\./, '');
    add(m[1], Number(m[2]), field && !m[4] ? field : m[4].trim());
  }
  return out;
}
