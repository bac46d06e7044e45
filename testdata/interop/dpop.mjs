// DPoP proofs and DPoP-bound access tokens made with Node's jose, for
// jwtguard's DPoP interop test. Prints JSON on stdout: the authorization
// server's public keys (a JWK Set) and, per client key algorithm, a bound
// token, the client key's thumbprint as jose computes it, and proofs (good
// ones and hostile ones, each with the method and URL it is sent with).
// Input (argv): issuer, audience, the resource URL.
import * as jose from 'jose';
import { createHash, randomUUID } from 'node:crypto';

const [issuer, audience, url] = process.argv.slice(2);
const now = Math.floor(Date.now() / 1000);
const out = { keys: [], clients: [] };

const as = await jose.generateKeyPair('RS256', { extractable: true });
out.keys.push({ ...(await jose.exportJWK(as.publicKey)), kid: 'as', alg: 'RS256', use: 'sig' });

const ath = (token) => createHash('sha256').update(token).digest('base64url');

for (const [alg, opts] of [['ES256', {}], ['ES384', {}], ['PS256', {}], ['RS256', {}], ['EdDSA', { crv: 'Ed25519' }]]) {
  const client = await jose.generateKeyPair(alg, { ...opts, extractable: true });
  const jwk = await jose.exportJWK(client.publicKey);
  const jkt = await jose.calculateJwkThumbprint(jwk, 'sha256');
  const token = await new jose.SignJWT({ client_id: 'app', scope: 'orders:read', cnf: { jkt } })
    .setProtectedHeader({ alg: 'RS256', kid: 'as', typ: 'at+jwt' })
    .setIssuer(issuer).setAudience(audience).setSubject('alice')
    .setIssuedAt(now).setExpirationTime(now + 300).setJti(randomUUID())
    .sign(as.privateKey);
  const proof = (claims, header = {}) => new jose.SignJWT({ jti: randomUUID(), htm: 'GET', htu: url, ath: ath(token), ...claims })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk, ...header })
    .setIssuedAt(claims.iat ?? now)
    .sign(client.privateKey);
  const proofs = [
    { name: 'good', method: 'GET', proof: await proof({}) },
    { name: 'good POST', method: 'POST', proof: await proof({ htm: 'POST' }) },
    { name: 'wrong htm', bad: true, method: 'POST', proof: await proof({}) },
    { name: 'wrong htu', bad: true, method: 'GET', proof: await proof({ htu: url + '/other' }) },
    { name: 'stale iat', bad: true, method: 'GET', proof: await proof({ iat: now - 600 }) },
    { name: 'ath of another token', bad: true, method: 'GET', proof: await proof({ ath: ath('another') }) },
    { name: 'typ JWT', bad: true, method: 'GET', proof: await proof({}, { typ: 'JWT' }) },
  ];
  out.clients.push({ alg, jkt, token, proofs });
}
process.stdout.write(JSON.stringify(out));
