// A real OpenID Connect provider for cxdata's team-mode tests and for trying team mode by
// hand: `oidc-provider` (OpenID Certified) with one confidential client (the app), the test
// users of users.json behind a real HTML login form, and short token lifetimes.
//
//   npm ci --prefix tests/oidc
//   node tests/oidc/provider.js --port 9000 --redirect-uri http://127.0.0.1:8501/oauth2callback
//
// It binds to 127.0.0.1 only and prints one JSON line when it listens ({"issuer", "port",
// "metadata"}), then one JSON line per event (logins, token grants and their errors, logouts)
// that the tests read. Signing keys and cookie keys are made afresh at every start.

import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { interactionPolicy } from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '9000' }, // 0: any free port (printed)
    host: { type: 'string', default: 'localhost' }, // the issuer's host name (a site of its own)
    'client-id': { type: 'string', default: 'cxdata' },
    'client-secret': { type: 'string', default: 'cxdata-local-secret' },
    'redirect-uri': {
      type: 'string',
      multiple: true,
      default: ['http://127.0.0.1:8501/oauth2callback', 'http://localhost:8501/oauth2callback'],
    },
    users: { type: 'string', default: new URL('users.json', import.meta.url).pathname },
    'id-token-ttl': { type: 'string', default: '300' }, // seconds
    'access-token-ttl': { type: 'string', default: '300' },
    'session-ttl': { type: 'string', default: '3600' },
  },
});

const seconds = (name) => {
  const value = Number(opt[name]);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${name} must be a whole number of seconds, not ${opt[name]}`);
  }
  return value;
};

// [{sub, email, email_verified, name, password, id_token_ttl?}]: sub is the stable, opaque id
// a real provider gives; the e-mail and whether it is verified are claims, as at Google, Entra
// ID or Keycloak; id_token_ttl (seconds) overrides --id-token-ttl for that user.
const USERS = JSON.parse(readFileSync(opt.users, 'utf8'));
const bySub = new Map(USERS.map((u) => [u.sub, u]));

function userFor(email, password) {
  const user = USERS.find((u) => u.email.toLowerCase() === String(email).trim().toLowerCase());
  const given = Buffer.from(String(password));
  const wanted = Buffer.from(user ? user.password : randomBytes(16).toString('hex'));
  const same = given.length === wanted.length && timingSafeEqual(given, wanted);
  return user && same ? user : undefined;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:sans-serif;background:#eef1f5;margin:0}
main{max-width:360px;margin:60px auto;background:#fff;padding:24px 32px;border-radius:6px;
box-shadow:0 1px 4px rgba(0,0,0,.2)}
h1{font-size:1.3em}label{display:block;margin:12px 0 4px}input{width:100%;padding:6px;
box-sizing:border-box}button{margin-top:16px;width:100%;padding:8px;background:#2457c5;
color:#fff;border:0;border-radius:4px;font-size:1em}.error{color:#b00020}
.fine{color:#555;font-size:.85em}
</style></head><body><main>${body}</main></body></html>`;
}

function loginPage(uid, clientName, { email = '', error = '' } = {}) {
  return page(
    'Sign in - cxdata test identity provider',
    `<h1>Sign in to ${esc(clientName)}</h1>
<p class="fine">cxdata test identity provider (oidc-provider)</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label for="email">E-mail address</label>
<input id="email" name="email" type="email" value="${esc(email)}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
<p class="fine"><a href="/interaction/${esc(uid)}/abort">Cancel</a></p>`,
  );
}

function log(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now() / 1000, ...fields })}\n`);
}

// Streamlit asks for prompt=select_account (its default): a requestable prompt that the login
// form answers (the user picks the account by signing in with it).
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-1', use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [
    {
      client_id: opt['client-id'],
      client_secret: opt['client-secret'],
      client_name: 'cxdata',
      redirect_uris: opt['redirect-uri'],
      // Streamlit sends the user back to its redirect_uri after logging out at the provider.
      post_logout_redirect_uris: opt['redirect-uri'],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: {
    keys: [randomBytes(32).toString('hex')],
    // Plain http on loopback: SameSite=None cookies would need Secure, so Lax for both.
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope's claims (email, email_verified, name) into the ID token itself, as Google,
  // Entra ID and Keycloak do: Streamlit reads the ID token and never calls the userinfo endpoint.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name,
        };
      },
    };
  },
  // The app is this provider's own (first-party) client: consent to its scopes is implied,
  // so the only page a user sees is the login form.
  async loadExistingGrant(ctx) {
    const { client, session, result } = ctx.oidc;
    const grantId = result?.consent?.grantId || session.grantIdFor(client.clientId);
    const found = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (found && found.accountId === session.accountId) return found;
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  interactions: {
    policy,
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page(
          'Sign out - cxdata test identity provider',
          `<h1>Sign out of the test identity provider?</h1>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
        );
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<h1>You are signed out.</h1>');
      },
    },
  },
  pkce: { methods: ['S256'], required: () => true },
  ttl: {
    AccessToken: seconds('access-token-ttl'),
    AuthorizationCode: 60,
    // A user's own id_token_ttl (users.json) wins: a login that expires within a test.
    IdToken: (ctx) => bySub.get(ctx.oidc.account?.accountId)?.id_token_ttl ?? seconds('id-token-ttl'),
    Interaction: 600,
    Session: seconds('session-ttl'),
    Grant: seconds('session-ttl'),
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    const lines = Object.entries(out).map(([k, v]) => `<p><b>${esc(k)}</b>: ${esc(v)}</p>`);
    ctx.body = page('Error - cxdata test identity provider', `<h1>Sign-in failed</h1>${lines.join('')}`);
  },
};

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

async function interaction(provider, req, res, uid, step) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, page('Sign-in expired', `<h1>This sign-in has expired.</h1><p>${esc(err.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Sign-in mismatch', '<h1>This sign-in belongs to another request.</h1>'));
    return;
  }
  const client = await provider.Client.find(details.params.client_id);
  const clientName = client?.clientName || details.params.client_id;
  if (step === undefined && req.method === 'GET') {
    send(res, 200, loginPage(uid, clientName, { email: details.params.login_hint || '' }));
    return;
  }
  if (step === 'abort' && req.method === 'GET') {
    log('login.aborted', { uid });
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted the sign-in',
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (step === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const user = userFor(form.get('email') || '', form.get('password') || '');
    if (!user) {
      log('login.failed', { email: form.get('email') });
      send(res, 200, loginPage(uid, clientName, {
        email: form.get('email') || '',
        error: 'Wrong e-mail address or password.',
      }));
      return;
    }
    log('login.success', { sub: user.sub, email: user.email });
    await provider.interactionFinished(req, res, {
      select_account: {},
      login: { accountId: user.sub, remember: false },
    }, { mergeWithLastSubmission: false });
    return;
  }
  send(res, 405, page('Not allowed', '<h1>Method not allowed</h1>'));
}

const server = createServer();
server.listen(Number(opt.port), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://${opt.host}:${port}`;
  const provider = new Provider(issuer, configuration);
  for (const name of ['grant.success', 'grant.error', 'authorization.error', 'end_session.success',
    'server_error']) {
    provider.on(name, (ctx, err) => {
      const e = err || (ctx instanceof Error ? ctx : undefined);
      log(name, e ? { error: e.error || e.name, description: e.error_description || e.message, detail: e.error_detail } : {});
    });
  }
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/.exec(new URL(req.url, issuer).pathname);
    if (!match) {
      callback(req, res);
      return;
    }
    interaction(provider, req, res, match[1], match[2]).catch((err) => {
      log('interaction.error', { description: err.message });
      if (!res.headersSent) send(res, 500, page('Error', `<h1>${esc(err.message)}</h1>`));
    });
  });
  log('listening', { issuer, port, metadata: `${issuer}/.well-known/openid-configuration` });
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
}
