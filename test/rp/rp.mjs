// openid-client (an OpenID-certified relying party) against Gatehouse's
// embedded issuer. Driven by internal/app's TestOpenIDClientInterop, which
// passes the issuer, client and user in the environment and reads one JSON
// line from stdout. Every failure throws (non-zero exit, message on stderr).
import * as client from 'openid-client';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing ${k}`);
  return v;
};
const ISSUER = env('ISSUER');
const REDIRECT = env('REDIRECT_URI');
const POST_LOGOUT = env('POST_LOGOUT_URI');
const USER = env('LOGIN_USER');
const PASS = env('LOGIN_PASSWORD');

const check = (cond, msg) => { if (!cond) throw new Error(msg); };

const config = await client.discovery(
  new URL(ISSUER), env('CLIENT_ID'), env('CLIENT_SECRET'),
  client.ClientSecretBasic(env('CLIENT_SECRET')),
  { execute: [client.allowInsecureRequests] },
);
const meta = config.serverMetadata();
check(meta.issuer === ISSUER, `discovery issuer ${meta.issuer}`);
check(meta.code_challenge_methods_supported?.includes('S256'), 'S256 not advertised');

// One browser sign-in: authorize, the login form over HTTP, the code.
async function signIn() {
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid profile email groups offline_access',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  });
  const cookies = new Map();
  const keep = (res) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let res = await fetch(url, { redirect: 'manual' });
  check(res.status === 303, `authorize answered ${res.status}`);
  const page = new URL(res.headers.get('location'), url);
  res = await fetch(page, { redirect: 'manual' });
  keep(res);
  const html = await res.text();
  const action = html.match(/<form method="post" action="([^"]+)"/)?.[1];
  const csrf = html.match(/name="csrf" value="([^"]+)"/)?.[1];
  check(action && csrf, 'no login form');
  res = await fetch(new URL(action.replaceAll('&amp;', '&'), page), {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader() },
    body: new URLSearchParams({ csrf: csrf.replaceAll('&amp;', '&'), username: USER, password: PASS }),
  });
  check(res.status === 303, `login form answered ${res.status}: ${await res.text()}`);
  const callback = new URL(res.headers.get('location'));
  check(callback.href.startsWith(REDIRECT), `redirected to ${callback}`);
  // Validates state, iss, the ID token (signature, iss, aud, exp, nonce,
  // at_hash) and PKCE.
  return client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
}

const out = {};
const t1 = await signIn();
const claims = t1.claims();
check(claims.preferred_username === USER, `preferred_username ${claims.preferred_username}`);
check(Array.isArray(claims.groups), 'groups claim missing from the ID token');
out.idTokenEmail = claims.email ?? null;
const info = await client.fetchUserInfo(config, t1.access_token, claims.sub);
check(info.sub === claims.sub, 'UserInfo sub differs');
out.userinfo = info;

// Refresh with rotation.
const t2 = await client.refreshTokenGrant(config, t1.refresh_token);
check(t2.refresh_token && t2.refresh_token !== t1.refresh_token, 'refresh token not rotated');
out.refreshedAccessToken = t2.access_token;

// Reuse detection: the rotated token is refused and its family revoked.
const refused = async (rt, what) => {
  try {
    await client.refreshTokenGrant(config, rt);
  } catch (e) {
    check(e.error === 'invalid_grant', `${what}: ${e.error ?? e.message}`);
    return;
  }
  throw new Error(`${what}: accepted`);
};
await refused(t1.refresh_token, 'reused refresh token');
await refused(t2.refresh_token, 'newest token of a revoked family');

// Revocation (RFC 7009), then end session with a registered URI.
const t3 = await signIn();
await client.tokenRevocation(config, t3.refresh_token, { token_type_hint: 'refresh_token' });
await refused(t3.refresh_token, 'revoked refresh token');
const end = client.buildEndSessionUrl(config, {
  id_token_hint: t3.id_token, post_logout_redirect_uri: POST_LOGOUT, state: 'bye',
});
const res = await fetch(end, { redirect: 'manual' });
check(res.status === 303 && res.headers.get('location') === `${POST_LOGOUT}?state=bye`,
  `end session: ${res.status} ${res.headers.get('location')}`);
out.accessToken = t3.access_token;
console.log(JSON.stringify(out));
