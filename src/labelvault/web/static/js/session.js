// Who is signed in: cached /api/users/self, refreshed on login and cleared on logout.

let me = null;

export async function loadSelf() {
  // A plain fetch: being signed out here is normal, not a "session ended" event.
  try {
    const res = await fetch('/api/users/self', { credentials: 'same-origin' });
    me = res.ok ? await res.json() : null;
  } catch { me = null; }
  return me;
}
export const self = () => me;
export const isAdmin = () => !!me?.is_superuser;
export function clear() { me = null; }
