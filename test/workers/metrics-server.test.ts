// The worker's /metrics server: what it serves, the typed error for a port in use, one server per port per process,
// and GROUNDWORK_METRICS_PORT's validation.
import net from 'node:net';
import { ConfigError, loadConfig } from '../../common/config';
import { addMetricsSource, metrics, registry, renderMetrics } from '../../common/metrics';
import { MetricsServerError, startMetricsServer } from '../../workers/metrics-server';
import type { MetricsServer } from '../../workers/metrics-server';

const open: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function start(port: number): Promise<MetricsServer> {
  const s = await startMetricsServer({ port, host: '127.0.0.1' });
  open.push(s);
  return s;
}

test('serves the registry in the Prometheus text format at /metrics on the bound port', async () => {
  metrics.ingestPages.inc({}, 3);
  const s = await start(0);
  expect(s.port).toBeGreaterThan(0);
  expect(s.url).toBe(`http://127.0.0.1:${s.port}/metrics`);
  const res = await fetch(s.url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(registry.contentType);
  const text = await res.text();
  expect(text).toMatch(/^# HELP groundwork_ingest_pages_total /m);
  expect(text).toMatch(/^groundwork_ingest_pages_total \d+/m);
  expect(Number(/^groundwork_ingest_pages_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(3);
  expect(text).toMatch(/^groundwork_process_resident_memory_bytes \d+/m);
});

test('answers 404 off /metrics and 405 for other methods', async () => {
  const s = await start(0);
  const base = `http://127.0.0.1:${s.port}`;
  expect((await fetch(`${base}/`)).status).toBe(404);
  expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
});

test('a port in use is a METRICS_PORT_IN_USE error naming the variable', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const err = await startMetricsServer({ port, host: '127.0.0.1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetricsServerError);
    expect(err).toMatchObject({ code: 'METRICS_PORT_IN_USE' });
    expect((err as Error).message).toMatch(new RegExp(`port ${port} is already in use.*GROUNDWORK_METRICS_PORT`));
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('workers of one process on the same port share one server, which stops when the last one closes', async () => {
  const first = await startMetricsServer({ port: 0, host: '127.0.0.1' });
  const port = first.port;
  await first.close();
  const a = await startMetricsServer({ port, host: '127.0.0.1' });
  const b = await startMetricsServer({ port, host: '127.0.0.1' });
  expect(b.port).toBe(a.port);
  await a.close();
  await a.close(); // twice is once
  expect((await fetch(b.url)).status).toBe(200);
  await b.close();
  await expect(fetch(b.url)).rejects.toThrow();
});

test('port 0 gives each worker a port of its own', async () => {
  const [a, b] = await Promise.all([start(0), start(0)]);
  expect(a.port).not.toBe(b.port);
});

test('added sources are appended to the registry text; a failing source is left out', async () => {
  const remove = addMetricsSource(async () => '# TYPE temporal_test_total counter\ntemporal_test_total 7');
  const removeBad = addMetricsSource(async () => {
    throw new Error('down');
  });
  try {
    const { text } = await renderMetrics();
    expect(text).toMatch(/\ntemporal_test_total 7\n$/);
    expect(text.indexOf('groundwork_ingest_pages_total')).toBeLessThan(text.indexOf('temporal_test_total'));
  } finally {
    remove();
    removeBad();
  }
  expect((await renderMetrics()).text).not.toContain('temporal_test_total');
});

test('GROUNDWORK_METRICS_PORT: 9464 by default, a port, 0 or off; anything else is a configuration error', () => {
  expect(loadConfig({}).metrics.port).toBe(9464);
  expect(loadConfig({ GROUNDWORK_METRICS_PORT: '0' }).metrics.port).toBe(0);
  expect(loadConfig({ GROUNDWORK_METRICS_PORT: ' 9100 ' }).metrics.port).toBe(9100);
  expect(loadConfig({ GROUNDWORK_METRICS_PORT: 'OFF' }).metrics.port).toBe('off');
  for (const bad of ['nine', '65536', '-1', '80.5'])
    expect(() => loadConfig({ GROUNDWORK_METRICS_PORT: bad })).toThrow(
      new ConfigError(
        `Invalid configuration: GROUNDWORK_METRICS_PORT must be a port (0-65535, 0 for any free one) or "off" (got "${bad}")`,
      ),
    );
});
