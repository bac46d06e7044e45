// Signs tokens with Node's two most used JWT libraries and prints them, with
// the public keys as a JWK Set, as JSON on stdout. Input (argv): issuer, audience.
import * as jose from 'jose';
import jwt from 'jsonwebtoken';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const [issuer, audience] = process.argv.slice(2);
const out = { keys: [], tokens: [] };
const now = Math.floor(Date.now() / 1000);

const joseAlgs = [
  ['RS256', {}], ['RS384', {}], ['RS512', {}], ['PS256', {}], ['PS384', {}], ['PS512', {}],
  ['ES256', {}], ['ES384', {}], ['ES512', {}], ['EdDSA', { crv: 'Ed25519' }],
];
for (const [alg, opts] of joseAlgs) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { ...opts, extractable: true });
  const kid = `jose-${alg}`;
  const jwk = await jose.exportJWK(publicKey);
  out.keys.push({ ...jwk, kid, alg, use: 'sig' });
  const token = await new jose.SignJWT({ scope: 'orders:read', lib: 'jose' })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer(issuer).setAudience(audience).setSubject('alice')
    .setIssuedAt(now).setExpirationTime(now + 300).setJti(randomBytes(8).toString('hex'))
    .sign(privateKey);
  out.tokens.push({ lib: 'jose', alg, token });
}

// jsonwebtoken, the usual choice of a hand-written Node login service.
for (const [alg, type, opts] of [['RS256', 'rsa', { modulusLength: 2048 }], ['ES256', 'ec', { namedCurve: 'P-256' }], ['PS256', 'rsa', { modulusLength: 3072 }]]) {
  const { publicKey, privateKey } = generateKeyPairSync(type, opts);
  const kid = `jsonwebtoken-${alg}`;
  out.keys.push({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' }); // no alg: as many IdPs publish
  const token = jwt.sign({ scope: 'orders:read', lib: 'jsonwebtoken' }, privateKey,
    { algorithm: alg, keyid: kid, issuer, audience, subject: 'alice', expiresIn: 300 });
  out.tokens.push({ lib: 'jsonwebtoken', alg, token });
}
const secret = randomBytes(32);
out.secret = secret.toString('base64url');
out.tokens.push({ lib: 'jsonwebtoken', alg: 'HS256', hmac: true,
  token: jwt.sign({ scope: 'orders:read' }, secret, { algorithm: 'HS256', issuer, audience, subject: 'alice', expiresIn: 300 }) });
out.tokens.push({ lib: 'jose', alg: 'HS512', hmac: true, bad: 'secret too short for HS512',
  token: await new jose.SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setIssuer(issuer).setAudience(audience)
    .setExpirationTime(now + 300).sign(secret) });
// Tokens that must be refused.
out.tokens.push({ lib: 'jsonwebtoken', alg: 'RS256', bad: 'expired',
  token: jwt.sign({ exp: now - 600, iss: issuer, aud: audience }, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, { algorithm: 'RS256', keyid: 'jsonwebtoken-RS256' }) });
out.tokens.push({ lib: 'jose', alg: 'none', bad: 'unsecured JWT',
  token: new jose.UnsecuredJWT({ iss: issuer, aud: audience }).setExpirationTime(now + 300).encode() });
process.stdout.write(JSON.stringify(out));
