// The HTTP server over a client double and a real key store: authentication, authorization, validation and
// hardening happen before anything reaches Temporal, so real requests against a real server need no Temporal here.
import { promises as fs } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../../common/config';
import { createAuthenticator } from '../../client/auth/authenticate';
import { KeyStore } from '../../client/auth/key-store';
import type { Role } from '../../client/auth/roles';
import type { GroundworkClient } from '../../client/groundwork-client';
import { ClientInputError } from '../../client/groundwork-client';
import { createHttpServer, createRoutes, parseTarget, statusForCode } from '../../client/http';
import type { HttpDeps, HttpServerOptions } from '../../client/http';
import { RateLimiter } from '../../client/http/rate-limit';
import { matchPath } from '../../client/http/route';
import type { ReviewOutcome } from '../../workflows/definitions';

interface Served {
  url: string;
  keys: KeyStore;
  log: jest.Mock;
  key(role: Role, tenant?: string, name?: string): Promise<string>;
  close(): Promise<void>;
}

const servers: Served[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  client: Partial<GroundworkClient>,
  options: Partial<HttpServerOptions> = {},
  extra: Partial<HttpDeps> = {},
): Promise<Served> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-http-'));
  const keys = new KeyStore(path.join(dir, 'keys'));
  const log = jest.fn();
  const server = createHttpServer(
    { client: client as GroundworkClient, keys, config: {} as Config, ...extra },
    await createAuthenticator({ keys }),
    { rateLimit: { perSecond: 1000, burst: 1000 }, maxConnections: 50, requestTimeoutMs: 10_000, log, ...options },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const served: Served = {
    url: `http://127.0.0.1:${port}`,
    keys,
    log,
    key: async (role, tenant = 'acme', name) => (await keys.create({ tenant, role, name })).key,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as http.Server).closeAllConnections();
      });
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  servers.push(served);
  return served;
}

async function call(
  s: Served,
  method: string,
  p: string,
  key?: string,
  body?: unknown,
): Promise<{
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
  headers: Headers;
}> {
  const res = await fetch(`${s.url}${p}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** Sends bytes as they are (fetch would refuse or normalise a malformed request) and returns the raw response. */
function raw(url: string, data: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let out = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.write(data);
  });
}

const outcome: ReviewOutcome = {
  decision: 'approved',
  reviewerId: 'dana',
  answer: 'Yes.',
  citations: [],
  decidedAt: '2026-01-01T00:00:00.000Z',
};

test('a question that is too short is refused with INVALID_INPUT before reaching Temporal', async () => {
  const startAsk = jest.fn();
  const s = await serve({ startAsk });
  const r = await call(s, 'POST', '/v1/tenants/acme/questions', await s.key('reader'), { question: 'a' });
  expect([r.status, r.body.error?.code]).toEqual([400, 'INVALID_INPUT']);
  expect(startAsk).not.toHaveBeenCalled();
});

test('tenant ids that are not safe never match a route', async () => {
  const route = createRoutes().find((r) => r.operationId === 'listReviews')!;
  const segs = (p: string) => parseTarget(p).segments;
  expect(matchPath(route, segs("/v1/tenants/a'b/reviews"))).toBeUndefined();
  expect(matchPath(route, segs('/v1/tenants/-acme/reviews'))).toBeUndefined();
  expect(matchPath(route, segs(`/v1/tenants/${'a'.repeat(129)}/reviews`))).toBeUndefined();
  expect(matchPath(route, segs('/v1/tenants/acme/reviews'))).toEqual({ tenantId: 'acme' });
  expect(matchPath(route, segs(`/v1/tenants/${'a'.repeat(128)}/reviews`))).toBeDefined();
  const s = await serve({});
  const admin = await s.key('admin', '*');
  expect((await call(s, 'GET', '/v1/tenants/a%27b/reviews', admin)).status).toBe(404);
});

test('an answer id of another tenant is not found, and neither is an unknown one', async () => {
  const describe = jest.fn(async () => Promise.reject(new WorkflowNotFoundError('not found', 'x', undefined)));
  const temporal = { workflow: { getHandle: () => ({ describe }) } };
  const s = await serve({ temporal } as unknown as Partial<GroundworkClient>);
  const key = await s.key('reader');
  const other = await call(s, 'GET', '/v1/tenants/acme/answers/answer%3Aglobex%3Aabc', key);
  expect([other.status, other.body.error?.code]).toEqual([404, 'NOT_FOUND']);
  expect(describe).not.toHaveBeenCalled();
  const unknown = await call(s, 'GET', '/v1/tenants/acme/answers/answer%3Aacme%3Anope', key);
  expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'NOT_FOUND']);
  expect(describe).toHaveBeenCalledTimes(1);
});

test("a review decision answers 200 with the outcome, decided under the key's name", async () => {
  const approve = jest.fn(async () => outcome);
  const s = await serve({ approve });
  const r = await call(
    s,
    'POST',
    '/v1/tenants/acme/reviews/review%3Aacme%3Ak1/approve',
    await s.key('reviewer', 'acme', 'dana'),
    { note: 'fine' },
  );
  expect([r.status, r.body]).toEqual([200, outcome]);
  // The caller is also the audit actor: its credential id and name.
  expect(approve).toHaveBeenCalledWith('acme', 'review:acme:k1', 'dana', 'fine', {
    kind: 'key',
    id: expect.stringMatching(/^key:[0-9a-f]{16}$/),
    name: 'dana',
  });
  // A key without a name decides under its id.
  const unnamed = await s.key('reviewer');
  await call(s, 'POST', '/v1/tenants/acme/reviews/t2/approve', unnamed, {});
  expect(approve).toHaveBeenLastCalledWith('acme', 't2', unnamed.split('_')[1], undefined, expect.anything());
});

test('a reviewerId in the body is refused: the reviewer is the authenticated caller', async () => {
  const approve = jest.fn(async () => outcome);
  const s = await serve({ approve });
  const r = await call(s, 'POST', '/v1/tenants/acme/reviews/t1/approve', await s.key('reviewer', 'acme', 'dana'), {
    reviewerId: 'mallory',
  });
  expect([r.status, r.body.error?.code]).toEqual([400, 'INVALID_INPUT']);
  expect(r.body.error?.message).toContain('reviewerId');
  expect(approve).not.toHaveBeenCalled();
});

test('edit and reject pass the decision through; a reject without a reason is refused before Temporal', async () => {
  const edit = jest.fn(async () => ({ ...outcome, decision: 'edited' as const }));
  const reject = jest.fn(async () => ({ ...outcome, decision: 'rejected' as const }));
  const s = await serve({ edit, reject });
  const key = await s.key('reviewer', 'acme', 'rita');
  const body = { answer: 'Better.', citations: [{ chunkId: 'c1' }] };
  const e = await call(s, 'POST', '/v1/tenants/acme/reviews/t1/edit', key, body);
  expect([e.status, e.body.decision]).toEqual([200, 'edited']);
  expect(edit).toHaveBeenCalledWith(
    'acme',
    't1',
    { ...body, reviewerId: 'rita', note: undefined },
    expect.objectContaining({ kind: 'key', name: 'rita' }),
  );
  const j = await call(s, 'POST', '/v1/tenants/acme/reviews/t1/reject', key, {});
  expect([j.status, j.body.error?.code]).toEqual([400, 'INVALID_INPUT']);
  expect(reject).not.toHaveBeenCalled();
  await call(s, 'POST', '/v1/tenants/acme/reviews/t1/reject', key, { reason: 'wrong' });
  expect(reject).toHaveBeenCalledWith('acme', 't1', 'rita', 'wrong', expect.objectContaining({ name: 'rita' }));
});

test('refusals map to HTTP statuses: closed 409, not found 404, too large 413, anything else 400', async () => {
  expect(statusForCode('REVIEW_CLOSED')).toBe(409);
  expect(statusForCode('REVIEW_NOT_FOUND')).toBe(404);
  expect(statusForCode('CITATION_NOT_RETRIEVED')).toBe(400);
  expect(statusForCode('INVALID_INPUT')).toBe(400);
  expect(statusForCode('FILE_TOO_LARGE')).toBe(413);
  const approve = jest.fn(async () =>
    Promise.reject(new ClientInputError('REVIEW_CLOSED', 'The review task is already approved.')),
  );
  const s = await serve({ approve });
  const r = await call(s, 'POST', '/v1/tenants/acme/reviews/t1/approve', await s.key('reviewer'), {});
  expect([r.status, r.body.error?.code]).toEqual([409, 'REVIEW_CLOSED']);
});

test('a request without a credential is 401 UNAUTHENTICATED; health and the OpenAPI document need none', async () => {
  const listReviews = jest.fn(async () => []);
  const s = await serve({ listReviews });
  const r = await call(s, 'GET', '/v1/tenants/acme/reviews');
  expect([r.status, r.body.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
  expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(listReviews).not.toHaveBeenCalled();
  expect((await call(s, 'GET', '/healthz')).status).toBe(200);
  expect((await call(s, 'GET', '/v1/openapi.json')).body.openapi).toBe('3.1.0');
});

test('an unknown, malformed, tampered or revoked key is 401', async () => {
  const listReviews = jest.fn(async () => []);
  const s = await serve({ listReviews });
  const key = await s.key('reviewer');
  expect((await call(s, 'GET', '/v1/tenants/acme/reviews', key)).status).toBe(200);
  const tampered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
  for (const bad of [tampered, 'gw_0123456789abcdef_' + 'x'.repeat(43), 'gw_nonsense', 'not-a-jwt'])
    expect([bad, (await call(s, 'GET', '/v1/tenants/acme/reviews', bad)).status]).toEqual([bad, 401]);
  const basic = await fetch(`${s.url}/v1/tenants/acme/reviews`, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
  expect(basic.status).toBe(401);
  await s.keys.revoke(key.split('_')[1] as string);
  const revoked = await call(s, 'GET', '/v1/tenants/acme/reviews', key);
  expect([revoked.status, revoked.body.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
  expect(listReviews).toHaveBeenCalledTimes(1);
});

test('a key of tenant A on a tenant B path is 403 FORBIDDEN; an admin key for all tenants passes', async () => {
  const listReviews = jest.fn(async () => []);
  const s = await serve({ listReviews });
  const r = await call(s, 'GET', '/v1/tenants/globex/reviews', await s.key('admin', 'acme'));
  expect([r.status, r.body.error?.code]).toEqual([403, 'FORBIDDEN']);
  expect((await call(s, 'GET', '/v1/tenants/globex/reviews', await s.key('admin', '*'))).status).toBe(200);
  expect(listReviews).toHaveBeenCalledWith('globex', 'pending');
});

test('a reader cannot decide a review, list keys or ingest', async () => {
  const approve = jest.fn(async () => outcome);
  const startIngest = jest.fn();
  const s = await serve({ approve, startIngest });
  const reader = await s.key('reader');
  expect((await call(s, 'POST', '/v1/tenants/acme/reviews/t1/approve', reader, {})).status).toBe(403);
  expect((await call(s, 'GET', '/v1/keys', reader)).status).toBe(403);
  const ingest = { name: 'a.md', contentBase64: Buffer.from('# A\n\nText.\n').toString('base64') };
  expect((await call(s, 'POST', '/v1/tenants/acme/documents', reader, ingest)).status).toBe(403);
  expect(approve).not.toHaveBeenCalled();
  expect(startIngest).not.toHaveBeenCalled();
});

test('only admins may ask with escalate: false', async () => {
  const startAsk = jest.fn(async () => ({ workflowId: 'answer:acme:1' }));
  const s = await serve({ startAsk } as unknown as Partial<GroundworkClient>);
  const question = { question: 'How many vacation days?', escalate: false };
  const w = await call(s, 'POST', '/v1/tenants/acme/questions', await s.key('writer'), question);
  expect([w.status, w.body.error?.code]).toEqual([403, 'FORBIDDEN']);
  expect(startAsk).not.toHaveBeenCalled();
  const a = await call(s, 'POST', '/v1/tenants/acme/questions', await s.key('admin'), question);
  expect([a.status, a.body]).toEqual([202, { workflowId: 'answer:acme:1' }]);
  expect(startAsk).toHaveBeenCalledWith({ tenantId: 'acme', question: 'How many vacation days?', escalate: false });
});

test('a malformed path or %-escape is 400 INVALID_URL, and the server keeps answering', async () => {
  const s = await serve({});
  const admin = await s.key('admin', '*');
  for (const p of ['/%', '/v1/tenants/%zz/reviews', '/v1/tenants/acme/answers/%C3%28', '/v1//tenants'])
    expect([p, (await call(s, 'GET', p, admin)).status]).toEqual([p, 400]);
  const slashes = await raw(s.url, 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(slashes).toMatch(/^HTTP\/1\.1 400 /);
  expect(slashes).toContain('INVALID_URL');
  const star = await raw(s.url, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(star).toMatch(/^HTTP\/1\.1 400 /);
  const garbage = await raw(s.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
  expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
  expect((await call(s, 'GET', '/healthz')).status).toBe(200);
  expect(parseTarget('http://example.com/healthz?x=1').segments).toEqual(['healthz']);
});

test('a known path with another method is 405 with Allow; an unknown path 404', async () => {
  const s = await serve({});
  const r = await call(s, 'DELETE', '/v1/tenants/acme/questions', await s.key('admin'));
  expect([r.status, r.headers.get('allow')]).toEqual([405, 'POST']);
  expect((await call(s, 'GET', '/nowhere')).status).toBe(404);
});

test('a credential over its rate is 429 RATE_LIMITED with Retry-After; other credentials are unaffected', async () => {
  const listReviews = jest.fn(async () => []);
  const s = await serve({ listReviews }, { rateLimit: { perSecond: 0.5, burst: 3 } });
  const [a, b] = [await s.key('reviewer'), await s.key('reviewer')];
  for (let i = 0; i < 3; i++) expect((await call(s, 'GET', '/v1/tenants/acme/reviews', a)).status).toBe(200);
  const limited = await call(s, 'GET', '/v1/tenants/acme/reviews', a);
  expect([limited.status, limited.body.error?.code]).toEqual([429, 'RATE_LIMITED']);
  expect(Number(limited.headers.get('retry-after'))).toBe(2);
  expect((await call(s, 'GET', '/v1/tenants/acme/reviews', b)).status).toBe(200);
  // Without a valid credential the client's address pays: guessing keys is throttled too.
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await call(s, 'GET', '/v1/tenants/acme/reviews', 'gw_bad')).status);
  expect(statuses).toEqual([401, 401, 401, 429, 429]);
  expect((await call(s, 'GET', '/healthz')).status).toBe(200);
});

test('the token bucket refills at its rate up to its burst', () => {
  let now = 0;
  const limiter = new RateLimiter(2, 4, () => now);
  for (let i = 0; i < 4; i++) expect(limiter.take('k').allowed).toBe(true);
  expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  now += 500;
  expect(limiter.take('k').allowed).toBe(true);
  expect(limiter.take('k').allowed).toBe(false);
  now += 60_000;
  for (let i = 0; i < 4; i++) expect(limiter.take('k').allowed).toBe(true);
  expect(limiter.take('k').allowed).toBe(false);
  const small = new RateLimiter(1, 1, () => now, 100);
  for (let i = 0; i < 1000; i++) small.take(`caller-${i}`);
  expect(small.size).toBeLessThanOrEqual(100);
});

test('a 5xx is logged once, as one structured line without the request body', async () => {
  const startAsk = jest.fn(async () => Promise.reject(new Error('boom')));
  const unreachable = Object.assign(new Error('14 UNAVAILABLE: connect refused'), {
    code: 14,
    details: '',
    metadata: {},
  });
  const listReviews = jest.fn(async () => Promise.reject(new ServiceError('Failed to list', { cause: unreachable })));
  const s = await serve({ startAsk, listReviews } as unknown as Partial<GroundworkClient>);
  const key = await s.key('reviewer');
  const r = await call(s, 'POST', '/v1/tenants/acme/questions', key, { question: 'What is the secret plan?' });
  expect([r.status, r.body]).toEqual([500, { error: { code: 'INTERNAL', message: 'Internal error.' } }]);
  expect(s.log).toHaveBeenCalledTimes(1);
  const line = s.log.mock.calls[0]![0] as Record<string, unknown>;
  expect(line).toMatchObject({
    level: 'error',
    status: 500,
    method: 'POST',
    route: '/v1/tenants/{tenantId}/questions',
    error: 'Error: boom',
  });
  expect(JSON.stringify(line)).not.toContain('secret plan');
  const down = await call(s, 'GET', '/v1/tenants/acme/reviews', key);
  expect([down.status, down.body.error?.code]).toEqual([503, 'UPSTREAM_UNAVAILABLE']);
  expect(s.log).toHaveBeenCalledTimes(2);
  expect(await call(s, 'GET', '/nowhere')).toMatchObject({ status: 404 });
  expect(s.log).toHaveBeenCalledTimes(2);
});

test('bodies over the limit are 413 BODY_TOO_LARGE; invalid JSON is 400 INVALID_JSON', async () => {
  const s = await serve({});
  const key = await s.key('admin');
  const big = await call(s, 'POST', '/v1/tenants/acme/questions', key, { question: 'x'.repeat(600 * 1024) });
  expect([big.status, big.body.error?.code]).toEqual([413, 'BODY_TOO_LARGE']);
  const bad = await call(s, 'POST', '/v1/tenants/acme/questions', key, '{"question": ');
  expect([bad.status, bad.body.error?.code]).toEqual([400, 'INVALID_JSON']);
});

test('the OpenAPI document has every route with its operation, role, parameters and security', async () => {
  const s = await serve({});
  const doc = (await call(s, 'GET', '/v1/openapi.json')).body as {
    paths: Record<string, Record<string, { security: unknown[]; 'x-required-role': string; responses: object }>>;
    components: { securitySchemes: Record<string, { scheme: string }> };
  };
  for (const route of createRoutes()) {
    const op = doc.paths[route.path]?.[route.method.toLowerCase()];
    expect([route.operationId, op?.['x-required-role']]).toEqual([route.operationId, route.access]);
    expect(op!.security.length).toBe(route.access === 'public' ? 0 : 2);
    if (route.access !== 'public') expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(['401', '403']));
  }
  expect(doc.components.securitySchemes).toMatchObject({ apiKey: { scheme: 'bearer' }, jwt: { scheme: 'bearer' } });
});

test('codec endpoints need an admin key for all tenants; without payload keys they answer 404 CODEC_UNAVAILABLE', async () => {
  const codec = { encode: jest.fn(async (b: unknown) => b), decode: jest.fn(async (b: unknown) => b) };
  const withCodec = await serve({}, {}, { codec });
  const body = { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'e30=' }] };
  expect((await call(withCodec, 'POST', '/v1/codec/encode', await withCodec.key('admin', 'acme'), body)).status).toBe(
    403,
  );
  const ok = await call(withCodec, 'POST', '/v1/codec/decode', await withCodec.key('admin', '*'), body);
  expect([ok.status, ok.body]).toEqual([200, body]);
  expect(codec.decode).toHaveBeenCalledWith(body);
  const without = await serve({});
  const r = await call(without, 'POST', '/v1/codec/decode', await without.key('admin', '*'), body);
  expect([r.status, r.body.error?.code]).toEqual([404, 'CODEC_UNAVAILABLE']);
});

test('the server sets its request, header and keep-alive timeouts and caps connections', async () => {
  const s = await serve({}, { maxConnections: 2, requestTimeoutMs: 500 });
  const { port } = new URL(s.url);
  // A client that never finishes its headers is answered 408 and cut off (no slowloris).
  const started = Date.now();
  const slow = await raw(s.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
  expect(slow).toMatch(/^HTTP\/1\.1 408 /);
  expect(Date.now() - started).toBeLessThan(4000);
  // Two idle connections fill the cap: a third is closed without an answer.
  const idle = [net.connect(Number(port), '127.0.0.1'), net.connect(Number(port), '127.0.0.1')];
  await Promise.all(idle.map((c) => new Promise((r) => c.once('connect', r))));
  await new Promise((r) => setTimeout(r, 100));
  const third = await raw(s.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(third).toBe('');
  idle.forEach((c) => c.destroy());
  await new Promise((r) => setTimeout(r, 100));
  expect((await call(s, 'GET', '/healthz')).status).toBe(200);
});
