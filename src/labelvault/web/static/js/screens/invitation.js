// An invitation link: who invites to which organization as what; accept or decline.
import { get, post, setOrg } from '../api.js';
import { navigate } from '../router.js';
import { errorBox, h, toast } from '../ui.js';

export async function render(el, { key }) {
  const page = h('section', { class: 'page' }, h('h1', {}, 'Invitation'));
  el.append(page);
  const none = { headers: { 'X-Organization': '' } };
  let invitation;
  try { invitation = await get(`/api/invitations/${encodeURIComponent(key)}`, none); } catch (err) { page.append(errorBox(err, 'Opening the invitation')); return; }
  const slug = invitation.organization_info.slug;
  if (invitation.accepted) { page.append(h('p', {}, `You are a member of ${slug}.`)); return; }
  page.append(
    h('p', {}, `${invitation.owner?.username || 'Someone'} invites ${invitation.user?.username} to the organization `, h('strong', {}, slug), ` as ${invitation.role}.`),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', onclick: async () => {
        try { await post(`/api/invitations/${encodeURIComponent(key)}/accept`, undefined, none); toast(`Welcome to ${slug}`, 'success'); setOrg(slug); navigate('/organization'); } catch (ex) { toast(ex.message, 'error'); }
      } }, 'Accept'),
      h('button', { type: 'button', onclick: async () => {
        try { await post(`/api/invitations/${encodeURIComponent(key)}/decline`, undefined, none); toast('Invitation declined'); navigate('/projects'); } catch (ex) { toast(ex.message, 'error'); }
      } }, 'Decline')));
}
