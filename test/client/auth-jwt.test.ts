// Tokens of the identity provider, signed here with a locally generated key pair: by a PEM public key and by a
// JWKS URL served on loopback.
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { KeyLike } from 'jose';
import { createAuthenticator } from '../../client/auth/authenticate';
import { createJwtVerifier, rolesFromClaim } from '../../client/auth/jwt';
import type { JwtSettings } from '../../client/auth/jwt';
import { KeyStore } from '../../client/auth/key-store';
import { authorize } from '../../client/auth/roles';

let privateKey: KeyLike;
let settings: JwtSettings;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  settings = {
    publicKey: await exportSPKI(pair.publicKey),
    issuer: 'https://idp.example.com/',
    audience: 'groundwork',
    tenantClaim: 'tenant',
    rolesClaim: 'roles',
  };
});

function token(
  claims: Record<string, unknown> = {},
  options: { issuer?: string; audience?: string; expires?: string | number; key?: KeyLike; kid?: string } = {},
) {
  return new SignJWT({ tenant: 'acme', roles: ['reviewer'], ...claims })
    .setProtectedHeader({ alg: 'ES256', ...(options.kid ? { kid: options.kid } : {}) })
    .setSubject('dana@example.com')
    .setIssuer(options.issuer ?? 'https://idp.example.com/')
    .setAudience(options.audience ?? 'groundwork')
    .setIssuedAt()
    .setExpirationTime(options.expires ?? '5m')
    .sign(options.key ?? privateKey);
}

test('a valid token is the principal of its subject, tenant and roles', async () => {
  const verifier = await createJwtVerifier(settings);
  const principal = await verifier.verify(await token());
  expect(principal).toEqual({
    kind: 'jwt',
    id: 'jwt:https://idp.example.com/:dana@example.com',
    subject: 'dana@example.com',
    tenant: 'acme',
    roles: ['reviewer'],
  });
  expect(authorize(principal, 'reviewer', 'acme')).toEqual({ allowed: true });
});

test('a token of another issuer or audience is refused', async () => {
  const verifier = await createJwtVerifier(settings);
  await expect(verifier.verify(await token({}, { issuer: 'https://evil.example.com/' }))).rejects.toMatchObject({
    code: 'UNAUTHENTICATED',
    message: expect.stringContaining('iss'),
  });
  await expect(verifier.verify(await token({}, { audience: 'someone-else' }))).rejects.toMatchObject({
    code: 'UNAUTHENTICATED',
    message: expect.stringContaining('aud'),
  });
});

test('an expired token is refused', async () => {
  const verifier = await createJwtVerifier(settings);
  const expired = await token({}, { expires: Math.floor(Date.now() / 1000) - 3600 });
  await expect(verifier.verify(expired)).rejects.toMatchObject({
    code: 'UNAUTHENTICATED',
    message: 'The token has expired.',
  });
});

test("a token for another tenant is forbidden on this tenant's paths; one without a usable tenant is refused", async () => {
  const verifier = await createJwtVerifier(settings);
  const globex = await verifier.verify(await token({ tenant: 'globex' }));
  expect(authorize(globex, 'reviewer', 'acme')).toMatchObject({ allowed: false });
  expect(authorize(globex, 'reviewer', 'globex')).toEqual({ allowed: true });
  await expect(verifier.verify(await token({ tenant: undefined }))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  await expect(verifier.verify(await token({ tenant: "a'b" }))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  await expect(verifier.verify(await token({ tenant: '*', roles: ['reader'] }))).rejects.toMatchObject({
    code: 'UNAUTHENTICATED',
  });
  const custom = await createJwtVerifier({ ...settings, tenantClaim: 'https://groundwork/tenant', rolesClaim: 'scp' });
  expect(
    await custom.verify(await token({ 'https://groundwork/tenant': 'initech', scp: 'reader writer' })),
  ).toMatchObject({ tenant: 'initech', roles: ['reader', 'writer'] });
});

test('a token signed by another key, unsigned, or with a symmetric algorithm is refused', async () => {
  const verifier = await createJwtVerifier(settings);
  const other = await generateKeyPair('ES256');
  await expect(verifier.verify(await token({}, { key: other.privateKey }))).rejects.toMatchObject({
    code: 'UNAUTHENTICATED',
  });
  const [header, payload] = (await token()).split('.');
  const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
  await expect(verifier.verify(none)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  const hs = await new SignJWT({ tenant: 'acme', roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('x')
    .setIssuer(settings.issuer!)
    .setAudience(settings.audience!)
    .setExpirationTime('5m')
    .sign(Buffer.from(settings.publicKey!));
  await expect(verifier.verify(hs)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  expect(header).toBeDefined();
});

test('roles come from an array or a string of names; unknown names grant nothing', () => {
  expect(rolesFromClaim(['admin', 'superuser'])).toEqual(['admin']);
  expect(rolesFromClaim('reader, reviewer')).toEqual(['reader', 'reviewer']);
  expect(rolesFromClaim(undefined)).toEqual([]);
  expect(rolesFromClaim(42)).toEqual([]);
});

test('a bad public key fails when the verifier is built, not on the first request', async () => {
  await expect(createJwtVerifier({ ...settings, publicKey: 'not a key' })).rejects.toMatchObject({
    code: 'CONFIG_INVALID',
  });
});

test('tokens verify against a JWKS URL; an unreachable JWKS is 503 AUTH_UNAVAILABLE, not 401', async () => {
  const pair = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  try {
    const verifier = await createJwtVerifier({ ...settings, publicKey: undefined, jwksUrl: url });
    const signed = await new SignJWT({ tenant: 'acme', roles: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('ops')
      .setIssuer(settings.issuer!)
      .setAudience(settings.audience!)
      .setExpirationTime('5m')
      .sign(pair.privateKey);
    expect(await verifier.verify(signed)).toMatchObject({ subject: 'ops', roles: ['admin'] });
    await expect(verifier.verify(await token({}, { kid: 'k2' }))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const down = await createJwtVerifier({ ...settings, publicKey: undefined, jwksUrl: url });
  await expect(down.verify(await token({}, { kid: 'k1' }))).rejects.toMatchObject({
    code: 'AUTH_UNAVAILABLE',
    status: 503,
  });
});

test('the authenticator takes API keys and tokens from a Bearer header', async () => {
  const store = new KeyStore(await fs.mkdtemp(path.join(os.tmpdir(), 'gw-auth-')));
  const auth = await createAuthenticator({ keys: store, jwt: settings });
  expect(await auth.authenticate(undefined)).toBeUndefined();
  expect(await auth.authenticate(`Bearer ${await token()}`)).toMatchObject({
    kind: 'jwt',
    subject: 'dana@example.com',
  });
  expect(await auth.authenticate(`bearer ${await token()}`)).toMatchObject({ kind: 'jwt' });
  await expect(auth.authenticate('Token abc')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  const { key } = await store.create({ tenant: 'acme', role: 'writer', name: 'ci' });
  expect(await auth.authenticate(`Bearer ${key}`)).toMatchObject({ kind: 'key', subject: 'ci', roles: ['writer'] });
  const noJwt = await createAuthenticator({ keys: store });
  await expect(noJwt.authenticate(`Bearer ${await token()}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  await fs.rm(store.dir, { recursive: true, force: true });
});
