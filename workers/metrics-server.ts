// The worker's Prometheus endpoint: GET /metrics on GROUNDWORK_METRICS_PORT answers the process's metrics (the
// prom-client registry, then the Temporal SDK's own series). Workers of one process on the same port share one server
// (the registry is per process); port 0 gives each its own free port (tests).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GroundworkError } from '../common/errors';
import { renderMetrics } from '../common/metrics';

export class MetricsServerError extends GroundworkError {
  override readonly name = 'MetricsServerError';
}

export interface MetricsServer {
  port: number;
  /** http://<host>:<port>/metrics */
  url: string;
  /** Stops serving once every worker that acquired this server has released it. */
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  port: number;
  /** Default: every interface, so that a Prometheus on another host or container can scrape it. */
  host?: string;
  /** What is served; default renderMetrics(). */
  render?: () => Promise<{ contentType: string; text: string }>;
}

interface Shared {
  server: http.Server;
  port: number;
  url: string;
  users: number;
}
/** Servers by requested port (never 0): a second worker in the process reuses the first one's. */
const shared = new Map<string, Promise<Shared>>();

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

async function listen(options: MetricsServerOptions): Promise<Shared> {
  const render = options.render ?? renderMetrics;
  const host = options.host ?? '0.0.0.0';
  const server = http.createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'Not found: metrics are at /metrics.\n');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return reply(res, 405, 'Method not allowed: GET /metrics.\n', { allow: 'GET, HEAD' });
    render().then(
      ({ contentType, text }) => {
        res.writeHead(200, {
          'content-type': contentType,
          'cache-control': 'no-store',
          'content-length': String(Buffer.byteLength(text)),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => reply(res, 500, 'The metrics could not be collected.\n'),
    );
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(
          new MetricsServerError(
            'METRICS_PORT_IN_USE',
            `The metrics port ${options.port} is already in use: set GROUNDWORK_METRICS_PORT to a free port, 0 for any free one, or off.`,
          ),
        );
      else if (err.code === 'EACCES')
        reject(
          new MetricsServerError(
            'METRICS_PORT_DENIED',
            `The metrics port ${options.port} may not be opened by this user: set GROUNDWORK_METRICS_PORT to a port above 1023.`,
          ),
        );
      else reject(new MetricsServerError('METRICS_SERVER_FAILED', `The metrics server could not start (${err.code}).`));
    });
    server.listen(options.port, host, () => resolve());
  });
  server.on('error', () => undefined);
  const port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { server, port, url: `http://${shown}:${port}/metrics`, users: 0 };
}

function stop(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts serving /metrics, or joins the server this process already runs on that port. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const key = `${options.host ?? '0.0.0.0'}:${options.port}`;
  let pending = options.port === 0 ? undefined : shared.get(key);
  if (!pending) {
    pending = listen(options);
    if (options.port !== 0) {
      shared.set(key, pending);
      pending.catch(() => shared.delete(key));
    }
  }
  const s = await pending;
  s.users++;
  let closed = false;
  return {
    port: s.port,
    url: s.url,
    close: async () => {
      if (closed) return;
      closed = true;
      if (--s.users > 0) return;
      if (shared.get(key) === pending) shared.delete(key);
      await stop(s.server);
    },
  };
}
