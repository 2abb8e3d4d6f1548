#!/usr/bin/env node
// A real OpenID provider (npm `oidc-provider` 9) on loopback, for tokenmail's end-to-end tests.
//
//   node tests/idp/idp.mjs [--port N] [--host 127.0.0.1] [--client ID:SECRET:EMAIL]...
//                          [--portal ID:SECRET:REDIRECT_URI]...
//
// It issues RFC 9068 JWT access tokens through the client credentials grant:
//
//   POST http://127.0.0.1:N/token
//        grant_type=client_credentials&client_id=alice&client_secret=alice-secret
//        [&scope=mail.read mail.send] [&resource=urn:tokenmail]
//
// The token's `aud` is "tokenmail", `scope` the requested subset of "mail.read mail.send", and
// an `email` claim names the mailbox: each client id maps to one address. Without a
// `resource` parameter the resource `urn:tokenmail` is used, so every token is a JWT.
// Discovery is at /.well-known/openid-configuration and the keys at /jwks.
//
// Built-in clients (secret is "<id>-secret"):
//   alice   -> alice@example.test
//   bob     -> bob@example.test
//   mallory -> mallory@elsewhere.test   (a foreign domain, for refusal tests)
//
// Each --portal registers a client for the authorization code flow (with PKCE), as the account
// page signs people in: a confidential client (client_secret_basic) when SECRET is not empty,
// else a public one. Its sign-in is oidc-provider's devInteractions: a login form that takes
// any login and password (the login is the account: alice -> alice@example.test), then a
// consent page. Its access tokens are for UserInfo (opaque), so `email` reaches the relying
// party from UserInfo, not from the ID token (OIDC Core 5.4, oidc-provider's default).
//
// With --port 0 (the default) the OS picks a free port. Once listening, it prints one JSON line
// to stdout: {"ready":true,"issuer":"http://127.0.0.1:N","port":N,"token_endpoint":"..."}.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const RESOURCE = 'urn:tokenmail';
const AUDIENCE = 'tokenmail';
const SCOPES = 'mail.read mail.send';

function parseArgs(argv) {
  const args = { port: 0, host: '127.0.0.1', clients: [], portals: [], ttl: 600 };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    if (a === '--port') args.port = Number(next());
    else if (a === '--host') args.host = next();
    else if (a === '--ttl') args.ttl = Number(next());
    else if (a === '--client') {
      const [id, secret, email] = next().split(':');
      if (!id || !secret || !email) throw new Error('--client wants ID:SECRET:EMAIL');
      args.clients.push({ id, secret, email });
    } else if (a === '--portal') {
      const v = next();
      const first = v.indexOf(':');
      const second = v.indexOf(':', first + 1);
      if (first < 1 || second < 0) throw new Error('--portal wants ID:SECRET:REDIRECT_URI');
      args.portals.push({ id: v.slice(0, first), secret: v.slice(first + 1, second), redirect: v.slice(second + 1) });
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node idp.mjs [--port N] [--host H] [--ttl S] [--client ID:SECRET:EMAIL]...\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error('bad --port');
  if (!['127.0.0.1', 'localhost', '::1'].includes(args.host) && !args.host.startsWith('127.')) {
    throw new Error('--host must be a loopback address');
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));

const clients = [
  { id: 'alice', secret: 'alice-secret', email: 'alice@example.test' },
  { id: 'bob', secret: 'bob-secret', email: 'bob@example.test' },
  { id: 'mallory', secret: 'mallory-secret', email: 'mallory@elsewhere.test' },
  ...args.clients,
];
const emailOf = new Map(clients.map((c) => [c.id, c.email]));
const portalIds = new Set(args.portals.map((p) => p.id));

// People who sign in interactively: the login names the account.
const personEmail = (login) => emailOf.get(login) || (login.includes('@') ? login : `${login}@example.test`);

// Fresh signing keys at every start: the tests fetch the JWKS from this process.
function jwk(keyPair, kid, alg) {
  return { ...keyPair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwks = {
  keys: [
    jwk(rsa, `rsa-${randomBytes(4).toString('hex')}`, 'RS256'),
    jwk(ec, `ec-${randomBytes(4).toString('hex')}`, 'ES256'),
  ],
};

// Listen first, so that with --port 0 the issuer URL can carry the real port.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(args.port, args.host, resolve);
});
const { port } = server.address();
const hostInUrl = args.host.includes(':') ? `[${args.host}]` : args.host;
const issuer = `http://${hostInUrl}:${port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.id,
    client_secret: c.secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post',
    scope: SCOPES,
  })).concat(args.portals.map((p) => ({
    client_id: p.id,
    ...(p.secret ? { client_secret: p.secret } : {}),
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [p.redirect],
    response_types: ['code'],
    token_endpoint_auth_method: p.secret ? 'client_secret_basic' : 'none',
    scope: 'openid email profile',
  }))),
  clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'none'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: personEmail(id), email_verified: true, name: id }),
  }),
  jwks,
  scopes: ['openid', 'offline_access', 'email', 'profile', ...SCOPES.split(' ')],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { ClientCredentials: args.ttl },
  features: {
    devInteractions: { enabled: args.portals.length > 0 },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The account page's tokens are for UserInfo; every other client's are for tokenmail.
      defaultResource: async (_ctx, client, oneOf) => (portalIds.has(client.clientId) ? oneOf : oneOf || RESOURCE),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) {
          // Unknown resources are refused by oidc-provider with invalid_target.
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: SCOPES,
          audience: AUDIENCE,
          accessTokenTTL: args.ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: async (_ctx, token) => {
    const email = emailOf.get(token.clientId);
    return email ? { email } : undefined;
  },
});
provider.on('server_error', (_ctx, err) => {
  process.stderr.write(`idp server_error: ${err && err.stack}\n`);
});
handler = provider.callback();

process.stdout.write(`${JSON.stringify({
  ready: true,
  issuer,
  port,
  token_endpoint: `${issuer}/token`,
  jwks_uri: `${issuer}/jwks`,
  clients: clients.map(({ id, secret, email }) => ({ id, secret, email })),
})}\n`);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
