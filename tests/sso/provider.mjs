// Test OpenID Connect provider for the single sign-on integration tests.
//
// A real, certified OP (panva's `oidc-provider`) on http://127.0.0.1:<port>, with
// one confidential client taken from the environment and a scriptable login:
// the authorization request's `login_hint` is the user's login (any string is an
// account; its `email` is the login itself, `email_verified` is true). A plain
// HTTP client completes the flow by following redirects and keeping cookies —
// see README.md beside this file. Everything else (codes, PKCE, client auth,
// ID token signing, JWKS, discovery) is the provider's own code.
//
//   env: PORT (0 or unset = any free port), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI,
//        EXIT_ON_STDIN_EOF=1 (exit when stdin closes, i.e. when the parent dies)
//   stdout: exactly one line, {"issuer":"http://127.0.0.1:N","port":N}, once listening.
//   Runs until SIGTERM/SIGINT. Diagnostics go to stderr.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

// oidc-provider prints its notices with console.info (stdout); stdout is reserved
// for the single JSON line, so send everything else to stderr.
console.log = console.info = console.error;

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`provider.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
};
const PORT = Number(env('PORT', '0'));
const CLIENT_ID = env('CLIENT_ID');
const CLIENT_SECRET = env('CLIENT_SECRET');
const REDIRECT_URI = env('REDIRECT_URI');

// Accounts: the login is the email; `sub` is a stable id derived from it.
const logins = new Map(); // accountId -> login
const accountIdFor = (login) => createHash('sha256').update(login).digest('hex').slice(0, 32);

async function findAccount(ctx, id) {
  const login = logins.get(id);
  if (login === undefined) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: login,
        email_verified: true,
        name: login.split('@')[0],
        preferred_username: login,
      };
    },
  };
}

// Default policy, plus: a login_hint naming another user than the one signed in
// goes to the login prompt instead of silently reusing the previous user's session
// (the interaction below then refuses it: switching users needs a fresh cookie jar).
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'login_hint_mismatch',
  'login_hint names another End-User than the one signed in',
  ({ oidc }) => (oidc.params.login_hint !== undefined && oidc.session.accountId
    && oidc.session.accountId !== accountIdFor(oidc.params.login_hint)
    ? interactionPolicy.Check.REQUEST_PROMPT
    : interactionPolicy.Check.NO_NEED_TO_PROMPT),
));

// A fresh signing key per run; the provider publishes it at the jwks endpoint.
const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomBytes(8).toString('hex'),
  use: 'sig',
  alg: 'RS256',
};

let provider;

// The interaction endpoint (/interaction/:uid) that the provider redirects to
// when it needs a login or a consent. It answers each prompt at once, through the
// provider's own interaction and Grant APIs, and redirects back (303) to /auth/:uid.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    const login = params.login_hint ?? '';
    if (!login) {
      result = { error: 'login_required', error_description: 'this test provider signs in the user named by login_hint' };
    } else if (details.session?.accountId && details.session.accountId !== accountIdFor(login)) {
      // oidc-provider would first end the other user's session with an auto-submitting
      // HTML form; a scripted client starts each user with a fresh cookie jar instead.
      result = { error: 'account_selection_required', error_description: 'another End-User is signed in with these cookies' };
    } else {
      logins.set(accountIdFor(login), login);
      result = { login: { accountId: accountIdFor(login) } };
    }
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'interaction_required', error_description: `unsupported prompt ${prompt.name}` };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const server = createServer();
server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic', // v9 accepts client_secret_post for it too
      id_token_signed_response_alg: 'RS256',
    }],
    responseTypes: ['code'],
    pkce: { required: () => true }, // oidc-provider v9 supports S256 only
    scopes: ['openid'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    conformIdTokenClaims: false, // the ID token carries the scopes' claims (email, email_verified)
    findAccount,
    interactions: { policy, url: (ctx, i) => `/interaction/${i.uid}` },
    features: { devInteractions: { enabled: false } },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] }, // not `secure`: plain http
    ttl: {
      AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600,
      Interaction: 600, Session: 3600, Grant: 3600,
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));

  const app = provider.callback();
  server.on('request', (req, res) => {
    if (/^\/interaction\/[^/]+$/.test(new URL(req.url, issuer).pathname)) {
      interaction(req, res).catch((err) => {
        console.error('interaction failed:', err.error_description ?? err);
        res.writeHead(err.statusCode ?? 500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.error ?? 'server_error', error_description: err.error_description ?? err.message }));
      });
    } else {
      app(req, res);
    }
  });

  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', stop).on('error', stop).resume();
}
