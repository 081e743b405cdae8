// One route = one entry: method, path template, the role it requires, zod schemas for path, query, body and
// responses, and the handler. The server dispatches, authenticates, authorizes and validates from these entries and
// the OpenAPI document is generated from them, so adding a route is adding an entry (client/http/routes/).
import type { ServedAnswers } from './served-answers';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Config } from '../../common/config';
import type { KeyStore } from '../auth/key-store';
import type { Principal, Role } from '../auth/roles';
import type { GroundworkClient } from '../groundwork-client';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** 'public': no credential (health, the OpenAPI document). A role: a credential granting it (see auth/roles.ts). */
export type Access = 'public' | Role;

/** The Temporal payload codec behind /v1/codec/encode and /decode: `{ payloads: [...] }` in and out. */
export interface PayloadCodecService {
  encode(body: unknown): Promise<unknown>;
  decode(body: unknown): Promise<unknown>;
}

/** What handlers may use. Adding a dependency: add it here and in startHttpApi. */
export interface HttpDeps {
  client: GroundworkClient;
  keys: KeyStore;
  config: Config;
  /** Encodes and decodes Temporal payloads for the codec endpoints; undefined when not available. */
  codec?: PayloadCodecService;
  /** Answers this API served, served again while the tenant's answer generation stands (served-answers.ts). */
  served?: ServedAnswers;
}

export interface RouteContext<A extends Access, P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The authenticated caller; absent only on public routes. */
  principal: A extends 'public' ? undefined : Principal;
  deps: HttpDeps;
  /** The raw request, for routes that read their body themselves (`rawBody`). */
  req: IncomingMessage;
  requestId: string;
}

/** A JSON reply; or a stream with its own content type. */
export interface Reply {
  status: number;
  body?: unknown;
  stream?: Readable;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  /** JSON body schema; omit for an empty or non-JSON body. */
  schema?: z.ZodType;
  /** Non-JSON bodies (streams): their content type. */
  contentType?: string;
}

type AnyObject = z.ZodObject;

/** A body the handler reads itself; documented per content type (a JSON Schema where one applies). */
export interface RawBody {
  contentTypes: string[];
  description: string;
  schemas?: Record<string, Record<string, unknown>>;
}

export interface RouteSpec<
  A extends Access,
  P extends AnyObject | undefined,
  Q extends AnyObject | undefined,
  B extends z.ZodType | undefined,
> {
  method: Method;
  /** Path template, e.g. `/v1/tenants/{tenantId}/answers/{workflowId}`. A `{tenantId}` makes the route tenant-scoped. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: A;
  /** One entry per `{name}` in the path; a segment its schema refuses does not match (404). */
  params?: P;
  query?: Q;
  /** A JSON body, read (≤ 512 KB unless maxBodyBytes) and validated before the handler runs. */
  body?: B;
  maxBodyBytes?: number;
  /** A body the handler reads itself from ctx.req (e.g. a streamed upload); documented with these content types. */
  rawBody?: RawBody;
  /** Success responses by status. Standard errors (400, 401, 403, 429, 500…) are documented for every route. */
  responses: Record<number, ResponseSpec>;
  /** Further error statuses this route answers (404, 409, 413, 422…). */
  errors?: number[];
  handler: (
    ctx: RouteContext<
      A,
      P extends AnyObject ? z.output<P> : Record<string, never>,
      Q extends AnyObject ? z.output<Q> : Record<string, never>,
      B extends z.ZodType ? z.output<B> : undefined
    >,
  ) => Promise<Reply>;
}

/** A route as the server and the OpenAPI generator see it. */
export interface Route {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  params?: AnyObject;
  query?: AnyObject;
  body?: z.ZodType;
  maxBodyBytes?: number;
  rawBody?: RawBody;
  responses: Record<number, ResponseSpec>;
  errors?: number[];
  /** Path template split in segments: literals, or `{ param }`. */
  segments: (string | { param: string })[];
  /** True when the path names a tenant: the credential must be for it. */
  tenantScoped: boolean;
  handler: (ctx: RouteContext<Access, unknown, unknown, unknown>) => Promise<Reply>;
}

/** Checks the entry (every path parameter has a schema) and prepares it for matching. */
export function defineRoute<
  A extends Access,
  P extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<A, P, Q, B>): Route {
  const segments = spec.path
    .split('/')
    .slice(1)
    .map((s) => {
      const m = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(s);
      return m ? { param: m[1] as string } : s;
    });
  for (const s of segments) {
    if (typeof s !== 'string' && !spec.params?.shape[s.param])
      throw new Error(`Route ${spec.method} ${spec.path}: no schema for the path parameter {${s.param}}`);
  }
  return {
    ...spec,
    segments,
    tenantScoped: segments.some((s) => typeof s !== 'string' && s.param === 'tenantId'),
    // The entry's handler is typed by its own schemas; the server calls it with values those schemas produced.
    handler: spec.handler as unknown as Route['handler'],
  };
}

/** The path parameters when the (decoded) segments match the template and each parameter's schema, else undefined. */
export function matchPath(route: Route, segments: string[]): Record<string, unknown> | undefined {
  if (segments.length !== route.segments.length) return undefined;
  const raw: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const t = route.segments[i] as string | { param: string };
    const s = segments[i] as string;
    if (typeof t === 'string') {
      if (t !== s) return undefined;
    } else raw[t.param] = s;
  }
  if (!route.params) return {};
  const r = route.params.safeParse(raw);
  return r.success ? (r.data as Record<string, unknown>) : undefined;
}
