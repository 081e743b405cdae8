// Authentication, roles and hardening of the HTTP API against a real server on the real stack.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { KeyStore } from '../../client/auth/key-store';
import type { Role } from '../../client/auth/roles';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const run = promisify(execFile);
const bin = path.resolve(__dirname, '..', '..', 'bin', 'groundwork.js');
let h: Harness;
let api: HttpApi;

beforeAll(async () => {
  // authco demands near-certainty, so its answers open review tasks.
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: 'authco=0.99' });
  api = await startHttpApi(h.config, { port: 0 });
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

const key = async (tenant: string, role: Role, name?: string): Promise<string> =>
  (await KeyStore.forDataDir(h.dataDir).create({ tenant, role, name })).key;

async function call(
  base: string,
  method: string,
  p: string,
  credential?: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } }; headers: Headers }> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: {
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

function raw(base: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    let out = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.write(data);
  });
}

/** A review task of authco, opened by a low-confidence answer. */
async function openReviewTask(question: string): Promise<string> {
  const before = new Set((await h.client.listReviews('authco', 'all')).map((t) => t.taskId));
  await h.client.startAsk({ tenantId: 'authco', question });
  return eventually(
    async () => (await h.client.listReviews('authco', 'pending')).find((t) => !before.has(t.taskId))?.taskId,
    30_000,
    'a review task',
  );
}

beforeAll(async () => {
  const file = await writeTemp(
    h.dataDir,
    'authco/policy.md',
    '# Policy\n\nParking spaces are assigned by the facilities team.\n\nVisitors sign in at reception.\n',
  );
  await h.client.ingest({ tenantId: 'authco', documentId: 'policy.md', source: { kind: 'path', path: file } });
});

test('no credential is 401 UNAUTHENTICATED; a key of tenant A on a tenant B path is 403 FORBIDDEN', async () => {
  const none = await call(api.url, 'GET', '/v1/tenants/authco/reviews');
  expect([none.status, none.body.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
  const wrongTenant = await call(api.url, 'GET', '/v1/tenants/authco/reviews', await key('globex', 'reviewer'));
  expect([wrongTenant.status, wrongTenant.body.error?.code]).toEqual([403, 'FORBIDDEN']);
  const ask = await call(api.url, 'POST', '/v1/tenants/authco/questions', await key('globex', 'admin'), {
    question: 'Who assigns parking spaces?',
  });
  expect([ask.status, ask.body.error?.code]).toEqual([403, 'FORBIDDEN']);
  expect((await call(api.url, 'GET', '/v1/tenants/authco/reviews', await key('authco', 'reviewer'))).status).toBe(200);
});

test("a reader cannot approve a review; the reviewer's identity is the key's name, never the body", async () => {
  const taskId = await openReviewTask('Who assigns parking spaces at authco?');
  const p = `/v1/tenants/authco/reviews/${encodeURIComponent(taskId)}/approve`;
  const reader = await call(api.url, 'POST', p, await key('authco', 'reader', 'rory'), {});
  expect([reader.status, reader.body.error?.code]).toEqual([403, 'FORBIDDEN']);
  const dana = await key('authco', 'reviewer', 'dana');
  const spoofed = await call(api.url, 'POST', p, dana, { reviewerId: 'mallory' });
  expect([spoofed.status, spoofed.body.error?.code]).toEqual([400, 'INVALID_INPUT']);
  const approved = await call(api.url, 'POST', p, dana, { note: 'checked' });
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({ decision: 'approved', reviewerId: 'dana', note: 'checked' });
  const state = await call(api.url, 'GET', `/v1/tenants/authco/reviews/${encodeURIComponent(taskId)}`, dana);
  expect(state.body).toMatchObject({ status: 'approved', outcome: { reviewerId: 'dana' } });
});

test("a token's subject is the reviewer: JWTs verified with the identity provider's public key", async () => {
  const pair = await generateKeyPair('ES256');
  const jwtApi = await startHttpApi(
    {
      ...h.config,
      security: {
        ...h.config.security,
        jwt: {
          publicKey: await exportSPKI(pair.publicKey),
          issuer: 'https://idp.test/',
          audience: 'groundwork',
          tenantClaim: 'tenant',
          rolesClaim: 'roles',
        },
      },
    },
    { port: 0 },
  );
  try {
    const token = (claims: Record<string, unknown>, issuer = 'https://idp.test/') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('ravi@example.com')
        .setIssuer(issuer)
        .setAudience('groundwork')
        .setExpirationTime('5m')
        .sign(pair.privateKey);
    const taskId = await openReviewTask('Where do visitors sign in at authco?');
    const p = `/v1/tenants/authco/reviews/${encodeURIComponent(taskId)}/reject`;
    const otherIssuer = await token({ tenant: 'authco', roles: ['reviewer'] }, 'https://evil.test/');
    expect((await call(jwtApi.url, 'POST', p, otherIssuer, { reason: 'no' })).status).toBe(401);
    const otherTenant = await token({ tenant: 'globex', roles: ['reviewer'] });
    expect((await call(jwtApi.url, 'POST', p, otherTenant, { reason: 'no' })).status).toBe(403);
    const good = await token({ tenant: 'authco', roles: 'reviewer' });
    const rejected = await call(jwtApi.url, 'POST', p, good, { reason: 'the policy moved' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ decision: 'rejected', reviewerId: 'ravi@example.com' });
  } finally {
    await jwtApi.close();
  }
});

test('GET // and a bad %-escape are 400, and the server keeps answering', async () => {
  const slashes = await raw(api.url, 'GET // HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  expect(slashes).toMatch(/^HTTP\/1\.1 400 /);
  const escape = await call(api.url, 'GET', '/v1/tenants/authco/answers/%E0%A4%A', await key('authco', 'reader'));
  expect([escape.status, escape.body.error?.code]).toEqual([400, 'INVALID_URL']);
  const rawEscape = await raw(
    api.url,
    'GET /v1/tenants/%zz/reviews HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
  );
  expect(rawEscape).toMatch(/^HTTP\/1\.1 400 /);
  expect((await call(api.url, 'GET', '/healthz')).body).toEqual({ ok: true });
});

test('an unknown answer id is 404 NOT_FOUND', async () => {
  const reader = await key('authco', 'reader');
  for (const id of ['answer:authco:0000000000000000', 'answer:authco:', `answer:authco:${'x'.repeat(900)}`]) {
    const r = await call(api.url, 'GET', `/v1/tenants/authco/answers/${encodeURIComponent(id)}`, reader);
    expect([id.slice(0, 40), r.status, r.body.error?.code]).toEqual([id.slice(0, 40), 404, 'NOT_FOUND']);
  }
});

test('a credential over its rate is 429 RATE_LIMITED with Retry-After', async () => {
  const limited = await startHttpApi(
    { ...h.config, http: { ...h.config.http, rateLimit: { perSecond: 1, burst: 3 } } },
    { port: 0 },
  );
  try {
    const reader = await key('authco', 'reviewer');
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await call(limited.url, 'GET', '/v1/tenants/authco/reviews', reader);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect(last!.body.error?.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another credential has its own bucket.
    expect((await call(limited.url, 'GET', '/v1/tenants/authco/reviews', await key('authco', 'reviewer'))).status).toBe(
      200,
    );
  } finally {
    await limited.close();
  }
});

test('a key made with `groundwork keys create` works at once; `keys revoke` ends it at once', async () => {
  const env = { ...process.env, GROUNDWORK_DATA_DIR: h.dataDir };
  const cli = async (args: string[]) =>
    JSON.parse((await run(process.execPath, [bin, '--json', ...args], { env, timeout: 60_000 })).stdout) as Record<
      string,
      unknown
    >;
  const created = await cli(['keys', 'create', '--tenant', 'authco', '--role', 'reader', '--name', 'cli-made']);
  expect(created).toMatchObject({
    tenant: 'authco',
    role: 'reader',
    name: 'cli-made',
    key: expect.stringMatching(/^gw_/),
  });
  const p = '/v1/tenants/authco/answers/answer%3Aauthco%3Anone';
  expect((await call(api.url, 'GET', p, created.key as string)).status).toBe(404);
  const listed = (await cli(['keys', 'list', '--tenant', 'authco'])) as unknown as { keyId: string; key?: string }[];
  expect(listed.map((k) => k.keyId)).toContain(created.keyId);
  expect(listed.every((k) => k.key === undefined)).toBe(true);
  await cli(['keys', 'revoke', created.keyId as string]);
  const revoked = await call(api.url, 'GET', p, created.key as string);
  expect([revoked.status, revoked.body.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
});
