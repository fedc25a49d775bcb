// A real OIDC provider (npm oidc-provider) on 127.0.0.1 for the sign-in tests.
// Usage: node oidc_provider.mjs <port> <client_id> <client_secret> <redirect_uri>
// Its development login form takes any login name; the accounts below give their claims.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const ACCOUNTS = {
  alice: { email: 'alice@example.org', given_name: 'Alice', family_name: 'Liddell',
    groups: ['lab-admins', 'annotators'] },
  bob: { email: 'bob@example.org', given_name: 'Bob', groups: ['students'] },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const known = ACCOUNTS[id] || { groups: [] };
    return {
      accountId: id,
      async claims() {
        return { sub: `sub-${id}`, preferred_username: id, email_verified: true, ...known };
      },
    };
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
