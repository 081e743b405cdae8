// The HTTP server around the route table: parses the request target defensively (a malformed URL or escape is a
// 400, never a crash), authenticates, rate-limits per credential, authorizes, validates, runs the handler and
// answers { error: { code, message } } on failure. Every 5xx is logged as one structured line, without the body.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ScheduleNotFoundError,
  ServiceError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
} from '@temporalio/client';
import type { z } from 'zod';
import { GroundworkError } from '../../common/errors';
import { traceHttpRequest } from '../../common/tracing';
import type { RequestSpan } from '../../common/tracing';
import { metrics } from '../../common/metrics';
import type { Authenticator } from '../auth/authenticate';
import { AuthError } from '../auth/errors';
import { KeyStoreError } from '../auth/key-store';
import { authorize, hasRole } from '../auth/roles';
import type { Principal } from '../auth/roles';
import { ClientInputError } from '../groundwork-client';
import { MAX_JSON_BODY, readJson, validate } from './body';
import { HttpError, statusForCode } from './errors';
import { RateLimiter } from './rate-limit';
import { matchPath } from './route';
import type { HttpDeps, Reply, Route } from './route';
import { createConsoleRoutes, createRoutes } from './routes';
import { IDENTITY_PATHS } from './routes/console';

const KEEP_ALIVE_MS = 5_000;
const MAX_HEADERS_MS = 30_000;

export interface HttpServerOptions {
  /** Token bucket per credential (and per client address for requests without a valid one). */
  rateLimit: { perSecond: number; burst: number };
  maxConnections: number;
  /** Time to receive a whole request (headers and body); the response may take longer (wait=true). */
  requestTimeoutMs: number;
  /** Where the one line per 5xx goes; default JSON on stderr. */
  log?: (entry: Record<string, unknown>) => void;
  routes?: Route[];
}

type ErrorReply = { status: number; code: string; message: string; headers?: Record<string, string>; cause?: unknown };

const defaultLog = (entry: Record<string, unknown>): void => {
  process.stderr.write(`${JSON.stringify(entry)}\n`);
};

/** gRPC status codes (numeric, as on the wire) that say something to the caller. */
const GRPC = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, UNAVAILABLE: 14 };

function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  if (err instanceof ServiceError && isGrpcServiceError(err.cause)) return err.cause.code;
  return undefined;
}

/** Every failure as a status and code; what is not the caller's fault and not known is a 500. */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof HttpError)
    return { status: err.status, code: err.code, message: err.message, headers: err.headers };
  if (err instanceof AuthError)
    return {
      status: err.status,
      code: err.code,
      message: err.message,
      headers: err.status === 401 ? { 'www-authenticate': 'Bearer realm="groundwork"' } : {},
      cause: err.status >= 500 ? err : undefined,
    };
  if (err instanceof ClientInputError || err instanceof KeyStoreError)
    return { status: statusForCode(err.code), code: err.code, message: err.message };
  if (err instanceof WorkflowNotFoundError || err instanceof ScheduleNotFoundError)
    return { status: 404, code: 'NOT_FOUND', message: 'No such workflow or schedule for this tenant.' };
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as { type?: string; message?: string } | undefined;
    return { status: 422, code: cause?.type ?? 'WORKFLOW_FAILED', message: cause?.message ?? 'The workflow failed.' };
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
    return { status: 503, code: 'UPSTREAM_UNAVAILABLE', message: 'Temporal did not answer in time.', cause: err };
  const code = grpcCode(err);
  if (code === GRPC.NOT_FOUND) return { status: 404, code: 'NOT_FOUND', message: 'Not found.' };
  if (code === GRPC.INVALID_ARGUMENT)
    return { status: 400, code: 'INVALID_INPUT', message: 'Temporal refused the request as invalid.' };
  if (code === GRPC.ALREADY_EXISTS) return { status: 409, code: 'ALREADY_EXISTS', message: 'It exists already.' };
  if (code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED)
    return { status: 503, code: 'UPSTREAM_UNAVAILABLE', message: 'Temporal is not reachable.', cause: err };
  if (err instanceof GroundworkError)
    return err.retryable
      ? { status: 503, code: err.code, message: err.message, cause: err }
      : { status: statusForCode(err.code), code: err.code, message: err.message };
  return { status: 500, code: 'INTERNAL', message: 'Internal error.', cause: err };
}

/** The request target as decoded path segments and the query; anything malformed is a 400, never a throw elsewhere. */
export function parseTarget(raw: string | undefined): { path: string; segments: string[]; query: URLSearchParams } {
  const bad = (message: string) => new HttpError(400, 'INVALID_URL', message);
  let target = raw ?? '';
  if (/^https?:\/\//i.test(target)) {
    // The absolute form (proxies may send it): only its path and query count.
    try {
      const u = new URL(target);
      target = `${u.pathname}${u.search}`;
    } catch {
      throw bad('The request URL is malformed.');
    }
  }
  if (!target.startsWith('/')) throw bad('The request path must start with "/".');
  if (/%(?![0-9A-Fa-f]{2})/.test(target)) throw bad('The request URL has a malformed %-escape.');
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path.includes('//')) throw bad('The request path has an empty segment ("//").');
  const segments = path
    .slice(1)
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw bad('The request path has a %-escape that is not UTF-8.');
      }
    });
  return { path, segments, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

function find(routes: Route[], method: string, segments: string[]): { route: Route; params: Record<string, unknown> } {
  const allowed = new Set<string>();
  for (const route of routes) {
    const params = matchPath(route, segments);
    if (!params) continue;
    if (route.method === method) return { route, params };
    allowed.add(route.method);
  }
  if (allowed.size > 0)
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'This path does not take this method.', {
      allow: [...allowed].join(', '),
    });
  throw new HttpError(404, 'NOT_FOUND', 'No such route.');
}

function send(res: http.ServerResponse, requestId: string, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {
    'x-request-id': requestId,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...reply.headers,
  };
  if (reply.stream) {
    res.writeHead(reply.status, headers);
    pipeline(reply.stream, res).catch(() => res.destroy());
    return;
  }
  const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...(body ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One request in groundwork_http_*: by route template (never the raw path, which names tenants and ids). */
function observe(method: string | undefined, route: Route | undefined, status: number, started: number): void {
  const m = method && METHODS.has(method) ? method : 'OTHER';
  const r = route?.path ?? 'unmatched';
  metrics.httpRequests.inc({ method: m, route: r, status: String(status) });
  metrics.httpRequestSeconds.observe({ method: m, route: r }, (Date.now() - started) / 1000);
}

/** A parse error before any request object exists (bad request line, headers too large, timeout): answered raw. */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  const [status, text, code] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT']
        : [400, 'Bad Request', 'BAD_REQUEST'];
  const body = JSON.stringify({ error: { code, message: `${text}.` } });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function createHttpServer(deps: HttpDeps, auth: Authenticator, options: HttpServerOptions): http.Server {
  const routes = [...(options.routes ?? createRoutes()), ...createConsoleRoutes()];
  const limiter = new RateLimiter(options.rateLimit.perSecond, options.rateLimit.burst);
  const log = options.log ?? defaultLog;

  const limit = (key: string): void => {
    const d = limiter.take(key);
    if (!d.allowed)
      throw new HttpError(429, 'RATE_LIMITED', `Too many requests; retry in ${d.retryAfterSeconds} s.`, {
        'retry-after': String(d.retryAfterSeconds),
      });
  };

  async function authenticated(req: http.IncomingMessage): Promise<Principal> {
    const anonymous = `addr:${req.socket.remoteAddress ?? 'unknown'}`;
    let principal: Principal | undefined;
    try {
      principal = await auth.authenticate(req.headers.authorization);
    } catch (err) {
      // Failed attempts count against the client's address, so guessing costs the server bounded work.
      if (err instanceof AuthError && err.status === 401) limit(anonymous);
      throw err;
    }
    if (!principal) {
      limit(anonymous);
      throw new AuthError('A credential is required: "Authorization: Bearer <API key or token>".');
    }
    limit(principal.id);
    return principal;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, span?: RequestSpan): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    let route: Route | undefined;
    let principal: Principal | undefined;
    let path: string | undefined;
    let reply: Reply;
    let failure: ErrorReply | undefined;
    try {
      const target = parseTarget(req.url);
      path = target.path;
      const found = find(routes, req.method ?? '', target.segments);
      route = found.route;
      span?.route(route.path);
      if (route.access !== 'public') {
        principal = await authenticated(req);
        const tenantId = route.tenantScoped ? String(found.params.tenantId) : undefined;
        // The console's "who am I" answers any credential with the role about itself, whatever its tenant.
        const decision =
          !route.tenantScoped && IDENTITY_PATHS.has(route.path)
            ? hasRole(principal, route.access)
              ? ({ allowed: true } as const)
              : ({ allowed: false, message: `This needs the ${route.access} role.` } as const)
            : authorize(principal, route.access, tenantId);
        if (!decision.allowed) throw new HttpError(403, 'FORBIDDEN', decision.message);
      }
      const query = route.query ? validate(route.query, Object.fromEntries(target.query), 'query') : {};
      const body = route.body
        ? validate(route.body, await readJson(req, route.maxBodyBytes ?? MAX_JSON_BODY), 'body')
        : undefined;
      reply = await route.handler({ params: found.params, query, body, principal, deps, req, requestId });
    } catch (err) {
      failure = errorReply(err);
      reply = {
        status: failure.status,
        body: { error: { code: failure.code, message: failure.message } },
        headers: failure.headers,
      };
    }
    try {
      send(res, requestId, reply);
    } catch (err) {
      failure = errorReply(err); // e.g. a reply that cannot be serialised
      send(res, requestId, { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal error.' } } });
      reply = { status: 500 };
    }
    observe(req.method, route, reply.status, started);
    span?.status(reply.status);
    if (reply.status >= 500) {
      const cause = failure?.cause;
      log({
        level: 'error',
        time: new Date().toISOString(),
        msg: 'HTTP request failed',
        requestId,
        method: req.method,
        route: route?.path,
        path: path?.slice(0, 300),
        status: reply.status,
        code: failure?.code,
        error: cause instanceof Error ? `${cause.name}: ${cause.message}`.slice(0, 500) : undefined,
        principal: principal?.id,
        durationMs: Date.now() - started,
      });
    }
  }

  const server = http.createServer(
    {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: Math.min(MAX_HEADERS_MS, options.requestTimeoutMs),
      keepAliveTimeout: KEEP_ALIVE_MS,
      connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      // Aborted requests and broken sockets surface here, never as an uncaught 'error' event.
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      // With tracing on, one server span per request; what the handler starts (workflows) are its children.
      traceHttpRequest(req.method ?? '', req.headers, (span) => handle(req, res, span)).catch(() => res.destroy());
    },
  );
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(MAX_HEADERS_MS, options.requestTimeoutMs);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.maxConnections = options.maxConnections;
  server.on('clientError', onClientError);
  return server;
}
