// The HTTP API's /metrics and its request metrics, on a real server over a client double: requests are counted by
// route template (never by raw path, which names tenants and ids), unknown paths as "unmatched", and /metrics itself
// needs an admin key for all tenants.
import { promises as fs } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createAuthenticator } from '../../client/auth/authenticate';
import { KeyStore } from '../../client/auth/key-store';
import type { GroundworkClient } from '../../client/groundwork-client';
import { createHttpServer } from '../../client/http';
import type { Config } from '../../common/config';
import { metrics } from '../../common/metrics';

let server: http.Server;
let url: string;
let dir: string;
let keys: KeyStore;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-http-metrics-'));
  keys = new KeyStore(path.join(dir, 'keys'));
  const client = { getReview: async () => ({ status: 'open' }) } as unknown as GroundworkClient;
  server = createHttpServer({ client, keys, config: {} as Config }, await createAuthenticator({ keys }), {
    rateLimit: { perSecond: 1000, burst: 1000 },
    maxConnections: 50,
    requestTimeoutMs: 10_000,
    log: () => undefined,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await fs.rm(dir, { recursive: true, force: true });
});

const requests = async (labels: Record<string, string>): Promise<number> =>
  (await metrics.httpRequests.get()).values.find(
    (v) => JSON.stringify(Object.entries(v.labels).sort()) === JSON.stringify(Object.entries(labels).sort()),
  )?.value ?? 0;

test('requests are counted by method, route template and status; unknown paths as "unmatched"', async () => {
  const key = (await keys.create({ tenant: 'acme', role: 'reader' })).key;
  const health = await requests({ method: 'GET', route: '/healthz', status: '200' });
  await fetch(`${url}/healthz`);
  await fetch(`${url}/healthz`);
  await fetch(`${url}/v1/tenants/acme/reviews/review%3Aacme%3Asecret-id`, {
    headers: { authorization: `Bearer ${key}` },
  });
  await fetch(`${url}/v1/no/such/path`);
  await fetch(`${url}/healthz`, { method: 'DELETE' });
  expect(await requests({ method: 'GET', route: '/healthz', status: '200' })).toBe(health + 2);
  expect(await requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
  expect(await requests({ method: 'DELETE', route: 'unmatched', status: '405' })).toBe(1);
  const { values } = await metrics.httpRequests.get();
  const routes = values.map((v) => String(v.labels.route));
  expect(routes).toContain('/v1/tenants/{tenantId}/reviews/{taskId}');
  expect(routes.some((r) => r.includes('acme') || r.includes('secret'))).toBe(false);
  const seconds = (await metrics.httpRequestSeconds.get()).values.find(
    (v) => v.metricName === 'groundwork_http_request_seconds_count' && v.labels.route === '/healthz',
  );
  expect(seconds?.value).toBeGreaterThanOrEqual(2);
});

test('GET /metrics: 401 without a key, 403 for a tenant admin, the Prometheus text for an admin of all tenants', async () => {
  expect((await fetch(`${url}/metrics`)).status).toBe(401);
  const tenantAdmin = (await keys.create({ tenant: 'acme', role: 'admin' })).key;
  expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${tenantAdmin}` } })).status).toBe(403);
  const root = (await keys.create({ tenant: '*', role: 'admin' })).key;
  await fetch(`${url}/healthz`);
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${root}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  expect(text).toMatch(/^groundwork_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]\d*$/m);
  expect(text).toMatch(/^groundwork_http_requests_total\{method="GET",route="\/metrics",status="403"\} 1$/m);
  expect(text).toMatch(/^groundwork_process_cpu_seconds_total \d/m);
});
