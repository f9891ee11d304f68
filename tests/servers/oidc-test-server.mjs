// oidc-test-server.mjs — a real OAuth 2.0 / OIDC authorization server for tests, on loopback.
// Built on panva's oidc-provider (npm `oidc-provider` 9.13.3, installed by `npm ci` here).
//
//   PORT=0 node tests/servers/oidc-test-server.mjs      # PORT=0 → ephemeral port
//
// clawgate's additions, under /__test/ (for the test suite, never part of the OAuth surface):
//   GET  /__test/stats            {"grants": {"<grant_type>": {"success": n, "error": n}}}
//   POST /__test/token-delay?ms=N the token endpoint waits N ms before it does anything; a
//                                 client that disconnects meanwhile is dropped unprocessed,
//                                 like a request that died on the way (SIGKILL tests).
//
// On stdout it prints exactly one line   READY {"issuer":"http://127.0.0.1:PORT", ...}
// once it accepts connections; everything else goes to stderr. Stop it with SIGTERM.
//
// What it offers:
//   * public native client  client_id=gateway-cli  token_endpoint_auth_method=none
//     redirect_uris http://127.0.0.1/callback and http://[::1]/callback — because the client is
//     application_type=native, ANY port on those loopback hosts is accepted (RFC 8252 §7.3).
//   * PKCE required (S256 only), device flow (RFC 8628), refresh tokens always issued for
//     clients allowed the refresh_token grant, rotated on every use; re-use of a rotated
//     refresh token → invalid_grant and the whole grant (all its tokens) is revoked.
//   * revocation + introspection endpoints.
//   * INTERACTIONS=auto (default): no HTML at all. The login/consent prompts are completed
//     by the server itself: account = the `login_hint` authorization parameter, or
//     "test-user"; login_hint=deny → the request ends with error=access_denied.
//     A client that follows redirects with a cookie jar goes /auth → /interaction/… →
//     /auth/… → … → 303 to redirect_uri?code=…&state=…&iss=…
//   * INTERACTIONS=dev: oidc-provider's own devInteractions HTML forms (login + consent),
//     for poking at it in a browser; also automatable by POSTing the forms.
//   * Env knobs: PORT (default 0), HOST (default 127.0.0.1), ACCESS_TOKEN_TTL (s, default
//     3600), REFRESH_TOKEN_TTL (s, default 1209600), DEVICE_CODE_TTL (s, default 600),
//     CLIENT_ID (default gateway-cli), INTERACTIONS (auto|dev), DEVICE_INTERVAL (s; adds
//     `interval` to the device authorization response, which oidc-provider leaves out).
import * as http from 'node:http';
import * as crypto from 'node:crypto';
import Provider from 'oidc-provider';

const t0 = process.hrtime.bigint();
const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 0);
const MODE = process.env.INTERACTIONS || 'auto';
const CLIENT_ID = process.env.CLIENT_ID || 'gateway-cli';
const ttlEnv = (name, dflt) => Number(process.env[name] || dflt);

// One ephemeral RS256 signing key per run (ID tokens, JWT access tokens if you enable them).
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((resolve) => server.listen(PORT, HOST, resolve));
const { port } = server.address();
const hostInUrl = HOST.includes(':') ? `[${HOST}]` : HOST;
const issuer = `http://${hostInUrl}:${port}`;

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    application_type: 'native',            // loopback redirect URIs match on any port
    token_endpoint_auth_method: 'none',    // public client
    redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },          // the default already requires it for public clients
  rotateRefreshToken: true,                // rotate on every refresh_token grant
  // Default issues refresh tokens only with scope offline_access (+ prompt=consent for OIDC);
  // here: always, for any client that is allowed the refresh_token grant.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test`, email_verified: true, name: `Test ${sub}` }),
  }),
  ttl: {
    AccessToken: ttlEnv('ACCESS_TOKEN_TTL', 3600),
    RefreshToken: ttlEnv('REFRESH_TOKEN_TTL', 14 * 24 * 3600),
    DeviceCode: ttlEnv('DEVICE_CODE_TTL', 600),
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: MODE === 'dev' },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// Token-endpoint accounting: how many grants of each type succeeded or failed.
const grants = {};
const countGrant = (outcome) => (ctx) => {
  const type = ctx.oidc?.params?.grant_type || 'unknown';
  grants[type] = grants[type] || { success: 0, error: 0 };
  grants[type][outcome] += 1;
};
provider.on('grant.success', countGrant('success'));
provider.on('grant.error', countGrant('error'));

let tokenDelayMs = 0;
provider.use(async (ctx, next) => {
  if (tokenDelayMs > 0 && ctx.method === 'POST' && ctx.path === '/token') {
    await new Promise((resolve) => setTimeout(resolve, tokenDelayMs));
    if (ctx.req.socket.destroyed) { ctx.respond = false; return; }
  }
  await next();
});

// oidc-provider returns no `interval` in the device authorization response (clients then must
// default to 5 s, RFC 8628 §3.2) and never answers slow_down. DEVICE_INTERVAL=N adds
// "interval": N so that a test's poller can go faster.
if (process.env.DEVICE_INTERVAL) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body.interval = Number(process.env.DEVICE_INTERVAL);
    }
  });
}

// Auto-approving interactions: complete login (account = login_hint or test-user) and consent
// (grant every requested scope/claim), then let the provider redirect back to /auth/:uid.
async function autoInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session, grantId } = details;
  if (params.login_hint === 'deny') {
    return provider.interactionFinished(req, res,
      { error: 'access_denied', error_description: 'denied by test server (login_hint=deny)' },
      { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    return provider.interactionFinished(req, res,
      { login: { accountId: params.login_hint || 'test-user' } },
      { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'consent') {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    return provider.interactionFinished(req, res,
      { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true });
  }
  res.statusCode = 501;
  res.end(`unhandled prompt ${prompt.name}`);
}

function testRoute(req, res) {
  const url = new URL(req.url, issuer);
  res.setHeader('content-type', 'application/json');
  if (req.method === 'GET' && url.pathname === '/__test/stats') {
    res.end(JSON.stringify({ grants }));
  } else if (req.method === 'POST' && url.pathname === '/__test/token-delay') {
    tokenDelayMs = Number(url.searchParams.get('ms') || 0);
    res.end(JSON.stringify({ tokenDelayMs }));
  } else {
    res.statusCode = 404;
    res.end('{}');
  }
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/__test/')) { testRoute(req, res); return; }
  if (MODE === 'auto' && req.method === 'GET' && /^\/interaction\/[^/]+$/.test(req.url.split('?')[0])) {
    autoInteraction(req, res).catch((err) => {
      console.error('interaction error', err);
      if (!res.headersSent) { res.statusCode = 500; res.end(String(err)); }
    });
    return;
  }
  callback(req, res);
});

const shutdown = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(`READY ${JSON.stringify({
  issuer, client_id: CLIENT_ID, interactions: MODE, startup_ms: Math.round(startupMs),
})}\n`);
