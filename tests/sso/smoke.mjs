// Smoke test for provider.mjs: starts it, runs the authorization-code + PKCE flow
// with plain HTTP requests (the way the Rust tests do), and checks the ID token.
// Run: `node tests/sso/smoke.mjs` (after `npm install` in tests/sso). Exits non-zero on failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const CLIENT_ID = 'smoke-client';
const CLIENT_SECRET = 'smoke-secret';
const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback'; // never contacted

const child = spawn(process.execPath, [new URL('./provider.mjs', import.meta.url).pathname], {
  env: { ...process.env, PORT: '0', CLIENT_ID, CLIENT_SECRET, REDIRECT_URI },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [line] = await once(createInterface({ input: child.stdout }), 'line');
const { issuer, port } = JSON.parse(line);
assert.equal(issuer, `http://127.0.0.1:${port}`);

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const jsonPart = (part) => JSON.parse(Buffer.from(part, 'base64url'));

// A minimal cookie jar: name=value per Path, sent to matching paths.
function cookieJar() {
  const cookies = new Map(); // `${path} ${name}` -> { path, name, value }
  return {
    store(res) {
      for (const header of res.headers.getSetCookie()) {
        const [pair, ...attrs] = header.split(';').map((s) => s.trim());
        const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
        const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
        const expired = attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
        if (expired || value === '') cookies.delete(`${path} ${name}`);
        else cookies.set(`${path} ${name}`, { path, name, value });
      }
    },
    header(url) {
      const { pathname } = new URL(url);
      return [...cookies.values()]
        .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
        .map((c) => `${c.name}=${c.value}`).join('; ');
    },
  };
}

// GET the authorization URL and follow the provider's redirects until redirect_uri.
async function authorize(params, jar = cookieJar()) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined));
  let url = `${discovery.authorization_endpoint}?${query}`;
  const hops = [];
  for (let i = 0; i < 10; i += 1) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
    jar.store(res);
    hops.push(`${res.status} ${new URL(url).pathname}`);
    assert.ok([302, 303].includes(res.status), `${url} -> ${res.status}: ${await res.text()}`);
    url = new URL(res.headers.get('location'), url).href;
    if (url.startsWith(REDIRECT_URI)) return { callback: new URL(url).searchParams, hops };
  }
  throw new Error(`too many redirects: ${hops}`);
}

const BASIC = `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`;
async function token(body, auth = BASIC) {
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: res.status, json: await res.json() };
}

function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

const authParams = (login, challenge, extra = {}) => ({
  client_id: CLIENT_ID, response_type: 'code', scope: 'openid email', redirect_uri: REDIRECT_URI,
  state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256',
  ...(login ? { login_hint: login } : {}), ...extra,
});

let discovery;
try {
  discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.issuer, issuer);
  for (const ep of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    assert.ok(discovery[ep].startsWith(`${issuer}/`), `${ep}: ${discovery[ep]}`);
  }
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  console.log('discovery:', JSON.stringify({
    authorization_endpoint: discovery.authorization_endpoint,
    token_endpoint: discovery.token_endpoint,
    jwks_uri: discovery.jwks_uri,
  }));

  // 1. The happy path, as ada, with one cookie jar kept across the redirects.
  const jar = cookieJar();
  const { verifier, challenge } = pkce();
  const { callback, hops } = await authorize(authParams('ada@acme.test', challenge), jar);
  console.log('redirects:', hops.join(' -> '), '-> redirect_uri');
  assert.equal(callback.get('state'), 's');
  assert.equal(callback.get('iss'), issuer);
  const code = callback.get('code');
  assert.ok(code);

  const { status, json } = await token({
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
  });
  assert.equal(status, 200, JSON.stringify(json));
  const [header, payload, signature] = json.id_token.split('.');
  const claims = jsonPart(payload);
  console.log('id_token header:', JSON.stringify(jsonPart(header)));
  console.log('id_token payload:', JSON.stringify(claims));
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, CLIENT_ID);
  assert.equal(claims.nonce, 'n');
  assert.equal(claims.email, 'ada@acme.test');
  assert.equal(claims.email_verified, true);
  assert.match(claims.sub, /^[0-9a-f]{32}$/);

  // The JWKS serves the key that signed it.
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  const { kid, alg } = jsonPart(header);
  assert.equal(alg, 'RS256');
  const jwk = keys.find((k) => k.kid === kid);
  assert.ok(jwk, `kid ${kid} not in JWKS`);
  assert.ok(verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url')));

  // 2. Same jar again as ada: single sign-on, straight to redirect_uri, same sub.
  const again = pkce();
  const sso = await authorize(authParams('ada@acme.test', again.challenge), jar);
  assert.deepEqual(sso.hops, ['303 /auth']);
  const adaAgain = await token({ grant_type: 'authorization_code', code: sso.callback.get('code'), redirect_uri: REDIRECT_URI, code_verifier: again.verifier });
  assert.equal(jsonPart(adaAgain.json.id_token.split('.')[1]).sub, claims.sub);

  // client_secret_post is accepted too.
  const post = pkce();
  const viaPost = await authorize(authParams('ada@acme.test', post.challenge), jar);
  const posted = await token({
    grant_type: 'authorization_code', code: viaPost.callback.get('code'), redirect_uri: REDIRECT_URI,
    code_verifier: post.verifier, client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
  }, null);
  assert.equal(posted.status, 200, JSON.stringify(posted.json));

  // A code is single-use (and reusing it revokes its grant).
  const replay = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  assert.equal(replay.json.error, 'invalid_grant');

  // 3. Same jar, another user: refused (a new user needs a fresh jar) ...
  const bob = pkce();
  const refused = await authorize(authParams('bob@acme.test', bob.challenge), jar);
  assert.equal(refused.callback.get('error'), 'account_selection_required');
  // ... and with a fresh jar bob signs in, with his own sub.
  const second = await authorize(authParams('bob@acme.test', bob.challenge));
  const bobTokens = await token({ grant_type: 'authorization_code', code: second.callback.get('code'), redirect_uri: REDIRECT_URI, code_verifier: bob.verifier });
  const bobClaims = jsonPart(bobTokens.json.id_token.split('.')[1]);
  assert.equal(bobClaims.email, 'bob@acme.test');
  assert.notEqual(bobClaims.sub, claims.sub);

  // 4. Failures come from the provider itself.
  const wrong = await authorize(authParams('ada@acme.test', pkce().challenge));
  const bad = await token({ grant_type: 'authorization_code', code: wrong.callback.get('code'), redirect_uri: REDIRECT_URI, code_verifier: verifier });
  assert.equal(bad.json.error, 'invalid_grant'); // PKCE mismatch
  const noPkce = await authorize(authParams('ada@acme.test', undefined, { code_challenge: undefined, code_challenge_method: undefined }));
  assert.equal(noPkce.callback.get('error'), 'invalid_request'); // PKCE required
  const noHint = await authorize(authParams(undefined, pkce().challenge));
  assert.equal(noHint.callback.get('error'), 'login_required');
  const badSecret = await token({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI, code_verifier: verifier }, `Basic ${btoa(`${CLIENT_ID}:nope`)}`);
  assert.equal(badSecret.status, 401);
  assert.equal(badSecret.json.error, 'invalid_client');

  console.log('smoke: 1 passed, 0 failed');
} finally {
  child.kill('SIGTERM');
  const [code, signal] = await once(child, 'exit');
  assert.equal(code, 0, `provider exited with ${code ?? signal}`);
}
