// An authorization server and a DPoP client that jwtguard did not write, for
// jwtguard's oidc-provider interop test: oidc-provider (DPoP on, server
// nonces required at its token endpoint, JWT access tokens for one resource
// server) on 127.0.0.1, and oauth4webapi clients that get DPoP-bound tokens
// from it with client_credentials, one client per proof algorithm.
//
// Input (argv): the resource indicator (the API's URL, also the tokens' aud).
// Output: one JSON line per message on stdout. First
//   {issuer, clients: [{alg, jkt, token, tokenType, scope, tokenAttempts}]}
// then one answer per request line read from stdin:
//   {op: "proof", client, method, url[, token]}  -> {proof}: the DPoP
//     header oauth4webapi would send with that request (not sent anywhere),
//     for the client's own token or the one given
//   {op: "call", client, method, url}   -> {status, attempts, body, nonce}:
//     the request made by oauth4webapi's protectedResourceRequest, retried
//     once on a use_dpop_nonce challenge as oauth4webapi documents
//   or {error} for a failure. The server stops when stdin closes.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import Provider from 'oidc-provider';

// oidc-provider prints notices with console.info and console.warn: keep
// stdout for the protocol.
const emit = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(' ') + '\n');

const [resource] = process.argv.slice(2);
if (!resource) {
  process.stderr.write('usage: node oidc_dpop.mjs RESOURCE_URL\n');
  process.exit(2);
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const signingKey = async (alg, opts = {}) => {
  const { privateKey } = await jose.generateKeyPair(alg, { ...opts, extractable: true });
  return { ...(await jose.exportJWK(privateKey)), alg, use: 'sig', kid: alg.toLowerCase() };
};

const clientSecret = randomBytes(32).toString('base64url');
const algs = ['ES256', 'Ed25519', 'PS256', 'RS256'];
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'orders-client',
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
  }],
  jwks: { keys: [await signingKey('RS256'), await signingKey('ES256')] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ttl: { ClientCredentials: 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) {
          throw new Error(`unknown resource ${indicator}`);
        }
        return {
          scope: 'orders:read',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  enabledJWA: { dPoPSigningAlgValues: algs },
});
server.on('request', provider.callback());

const insecure = { [oauth.allowInsecureRequests]: true };
const as = await oauth.processDiscoveryResponse(new URL(issuer),
  await oauth.discoveryRequest(new URL(issuer), { ...insecure, algorithm: 'oidc' }));
const client = { client_id: 'orders-client' };
const clientAuth = oauth.ClientSecretBasic(clientSecret);

const keyParams = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  Ed25519: { name: 'Ed25519' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
};

// retryOnNonce runs fn once more when it failed with a use_dpop_nonce
// challenge (the DPoP handle has then cached the server's nonce).
const retryOnNonce = async (fn) => {
  try {
    return { attempts: 1, value: await fn() };
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) {
      throw err;
    }
    return { attempts: 2, value: await fn() };
  }
};

const clients = new Map();
const hello = { issuer, clients: [] };
for (const alg of algs) {
  const keyPair = await crypto.subtle.generateKey(keyParams[alg], false, ['sign', 'verify']);
  // oauth4webapi wants the public key extractable (for the proof's jwk).
  const publicKey = await crypto.subtle.importKey('jwk',
    await crypto.subtle.exportKey('jwk', keyPair.publicKey), keyParams[alg], true, ['verify']);
  const dpop = oauth.DPoP(client, { privateKey: keyPair.privateKey, publicKey });
  const { attempts, value: tokens } = await retryOnNonce(async () => {
    const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth,
      new URLSearchParams({ scope: 'orders:read', resource }), { ...insecure, DPoP: dpop });
    return oauth.processClientCredentialsResponse(as, client, response);
  });
  clients.set(alg, { dpop, token: tokens.access_token });
  hello.clients.push({
    alg,
    jkt: await dpop.calculateThumbprint(),
    token: tokens.access_token,
    tokenType: tokens.token_type,
    scope: tokens.scope,
    tokenAttempts: attempts,
  });
}
emit(hello);

// captureProof is a fetch that records the request's DPoP header and sends nothing.
const captureProof = (sink) => async (url, init) => {
  sink.proof = init.headers.dpop;
  return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
};

const handle = async ({ op, client: alg, method, url, token }) => {
  const c = clients.get(alg);
  if (!c) {
    throw new Error(`no client ${alg}`);
  }
  switch (op) {
    case 'proof': {
      const sink = {};
      await oauth.protectedResourceRequest(token ?? c.token, method, new URL(url), new Headers(), null,
        { ...insecure, DPoP: c.dpop, [oauth.customFetch]: captureProof(sink) });
      return { proof: sink.proof };
    }
    case 'call': {
      let sent;
      const { attempts, value: response } = await retryOnNonce(() => oauth.protectedResourceRequest(
        c.token, method, new URL(url), new Headers(), null,
        {
          ...insecure,
          DPoP: c.dpop,
          [oauth.customFetch]: (u, init) => { sent = init.headers.dpop; return fetch(u, init); },
        }));
      const nonce = JSON.parse(Buffer.from(sent.split('.')[1], 'base64url')).nonce ?? '';
      return { status: response.status, attempts, body: await response.text(), nonce };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) {
    continue;
  }
  try {
    emit(await handle(JSON.parse(line)));
  } catch (err) {
    emit({ error: `${err.name}: ${err.message}` });
  }
}
server.closeAllConnections();
server.close();
