// A real OpenID provider (npm oidc-provider) for Gatehouse's external-mode
// tests. It listens on 127.0.0.1:0, prints "READY <issuer>" on stdout once it
// serves, and exits when stdin closes (so a dying test never leaves it
// behind).
//
// Configuration: one JSON object in IDP_CONFIG (all optional):
//   clientId, clientSecret  the confidential client (PKCE required)
//   redirectUris            its registered redirect URIs
//   audience                `aud` of the JWT access tokens (Gatehouse's OIDC_CLIENT_ID)
//   accessTokenTTL          seconds
//
// Users (login / password): alice / alice-password (groups, client roles and a
// custom role claim), bob / bob-password (groups only). devInteractions is
// replaced by a form that checks the password, so the browser tests fill a
// real login form.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const cfg = JSON.parse(process.env.IDP_CONFIG || '{}');
const clientId = cfg.clientId || 'gatehouse';
const clientSecret = cfg.clientSecret || 'gatehouse-test-secret';
const redirectUris = cfg.redirectUris || ['http://127.0.0.1/callback'];
const audience = cfg.audience || clientId;
const accessTokenTTL = cfg.accessTokenTTL || 600;
// Resource indicator under which JWT access tokens are issued.
const API = 'urn:gatehouse:api';
const ROLE_CLAIM = 'https://claims.example.com/role';

const users = {
  alice: {
    password: 'alice-password',
    claims: {
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Example',
      preferred_username: 'alice',
      groups: ['SRE', 'Viewer'],
      resource_access: { [clientId]: { roles: ['Developer'] }, other: { roles: ['admin'] } },
      [ROLE_CLAIM]: 'administrator',
    },
  },
  bob: {
    password: 'bob-password',
    claims: {
      email: 'bob@example.com',
      email_verified: true,
      name: 'Bob Example',
      preferred_username: 'bob',
      groups: ['viewer'],
    },
  },
};

function account(id) {
  const u = users[id];
  if (!u) return undefined;
  return {
    accountId: id,
    async claims() { return { sub: id, ...u.claims }; },
  };
}

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'idp-test-key', alg: 'RS256', use: 'sig' };

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const resourceServer = {
  scope: 'openid profile email groups offline_access',
  audience,
  accessTokenTTL,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token', 'password'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // RFC 8252 §7.3: loopback redirect URIs match on any port, so a test
    // registers http://127.0.0.1/api/v3/user/oauth/callback before Gatehouse
    // has picked its port.
    application_type: 'native',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  findAccount: (_ctx, id) => account(id),
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => API,
      useGrantedResource: () => true,
      getResourceServerInfo: () => resourceServer,
    },
  },
  // Access tokens carry the claims Gatehouse maps to subject and groups.
  async extraTokenClaims(_ctx, token) {
    const a = account(token.accountId);
    if (!a) return undefined;
    const { sub, ...claims } = await a.claims();
    return claims;
  },
  issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: accessTokenTTL, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
  cookies: { keys: [randomUUID()] },
});
provider.proxy = false;

// Resource-owner password grant for the CLI login tests (not built in).
provider.registerGrantType('password', async (ctx) => {
  const { username, password, scope = 'openid' } = ctx.oidc.params;
  const u = users[username];
  if (!u || u.password !== password) throw new errors.InvalidGrant('invalid credentials');
  const { client } = ctx.oidc;
  const grant = new provider.Grant({ clientId: client.clientId, accountId: username });
  grant.addOIDCScope(scope);
  grant.addResourceScope(API, scope);
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId: username, client, grantId, gty: 'password', scope });
  at.resourceServer = new provider.ResourceServer(API, resourceServer);
  const accessToken = await at.save();
  const rt = new provider.RefreshToken({
    accountId: username, client, grantId, gty: 'password', scope, resource: API, rotations: 0,
  });
  const refreshToken = await rt.save();
  const idt = new provider.IdToken({ ...(await account(username).claims()) }, { ctx });
  idt.scope = scope;
  const idToken = await idt.issue({ use: 'idtoken' });
  ctx.body = {
    access_token: accessToken, refresh_token: refreshToken, id_token: idToken,
    token_type: 'Bearer', expires_in: at.expiration, scope,
  };
}, ['username', 'password', 'scope']);

// oidc-provider's UserInfo refuses access tokens that carry an audience, and
// JWT access tokens always do. Enterprise IdPs (Keycloak, Okta) answer
// UserInfo for their JWT access tokens, so this fixture does too: a JWT
// bearer on the userinfo path is verified with the provider's key and answered
// with the account's claims for the token's scopes.
const { d, p, q, dp, dq, qi, ...publicJWK } = jwk;
const publicJWKS = jose.createLocalJWKSet({ keys: [publicJWK] });
provider.use(async (ctx, next) => {
  if (ctx.path === '/me') {
    const m = /^Bearer (.+)$/.exec(ctx.get('authorization') || '');
    if (m && m[1].split('.').length === 3) {
      try {
        const { payload } = await jose.jwtVerify(m[1], publicJWKS, { issuer });
        const a = account(payload.sub);
        if (!a) throw new Error('unknown account');
        const all = await a.claims();
        const scopes = new Set(String(payload.scope || '').split(' '));
        const body = { sub: all.sub };
        if (scopes.has('profile')) Object.assign(body, { name: all.name, preferred_username: all.preferred_username });
        if (scopes.has('email')) Object.assign(body, { email: all.email, email_verified: all.email_verified });
        if (scopes.has('groups')) body.groups = all.groups;
        ctx.set('cache-control', 'no-store');
        ctx.body = body;
      } catch (err) {
        ctx.status = 401;
        ctx.set('www-authenticate', 'Bearer error="invalid_token"');
        ctx.body = { error: 'invalid_token', error_description: 'invalid token' };
      }
      return;
    }
  }
  await next();
});

// The login form: checks the password, then finishes the interaction.
function page(uid, message = '') {
  return `<!DOCTYPE html><html><head><title>Sign in</title></head><body>
<h1>Sign in to the test IdP</h1><p id="message">${message}</p>
<form id="login" method="post" action="/interaction/${uid}/login">
<input id="username" name="login" autocomplete="username">
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="submit" type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

server.on('request', async (req, res) => {
  const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!m) return provider.callback()(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') {
      // Everything the client asks is granted (no consent screen).
      const grant = details.grantId ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
      if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(details.prompt.details.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(page(details.uid));
    }
    const form = await readForm(req);
    const login = form.get('login');
    const u = users[login];
    if (!u || u.password !== form.get('password')) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(page(details.uid, 'Invalid credentials'));
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  } catch (err) {
    res.statusCode = 400;
    res.end(String(err && err.message));
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.stdout.write(`READY ${issuer}\n`);
