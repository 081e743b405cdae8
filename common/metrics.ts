// The process's Prometheus metrics (prom-client): one registry per process, served at /metrics by the worker
// (GROUNDWORK_METRICS_PORT) and by the HTTP API. Names and labels are the contract the Grafana dashboard in
// deploy/grafana/ reads; a `tenant` label is added only when GROUNDWORK_METRICS_TENANT_LABEL=true, because the number
// of tenants can be large.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'groundwork_' });

/** Whether metrics carry a `tenant` label (GROUNDWORK_METRICS_TENANT_LABEL=true). Read once, at first use. */
let tenantLabel: boolean | undefined;
export function tenantLabelEnabled(): boolean {
  tenantLabel ??= /^(1|true|yes)$/i.test(process.env.GROUNDWORK_METRICS_TENANT_LABEL ?? '');
  return tenantLabel;
}
/** Tests only: re-read GROUNDWORK_METRICS_TENANT_LABEL. */
export function resetTenantLabelSetting(): void {
  tenantLabel = undefined;
}

/** The label set of one observation: `tenant` is dropped unless tenant labels are on. */
export function labelsFor<L extends Record<string, string>>(labels: L, tenantId?: string): L & { tenant?: string } {
  return tenantLabelEnabled() && tenantId ? { ...labels, tenant: tenantId } : labels;
}

const T = ['tenant'] as const;
const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export const metrics = {
  ingestDocuments: new Counter({
    name: 'groundwork_ingest_documents_total',
    help: 'Documents whose ingestion ended, by status (ingested, unchanged, failed) and error code.',
    labelNames: ['status', 'code', ...T],
    registers: [registry],
  }),
  ingestPages: new Counter({
    name: 'groundwork_ingest_pages_total',
    help: 'Pages (PDF pages, sheets) parsed.',
    labelNames: [...T],
    registers: [registry],
  }),
  ingestSeconds: new Histogram({
    name: 'groundwork_ingest_seconds',
    help: 'Time to parse and stage one document.',
    labelNames: [...T],
    buckets: SECONDS,
    registers: [registry],
  }),
  answers: new Counter({
    name: 'groundwork_answers_total',
    help: 'Answers drafted and verified, by status.',
    labelNames: ['status', ...T],
    registers: [registry],
  }),
  answerSeconds: new Histogram({
    name: 'groundwork_answer_seconds',
    help: 'Time from retrieval to a verified answer (before any review).',
    labelNames: [...T],
    buckets: SECONDS,
    registers: [registry],
  }),
  answerConfidence: new Histogram({
    name: 'groundwork_answer_confidence',
    help: 'Confidence of verified answers.',
    labelNames: [...T],
    buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
    registers: [registry],
  }),
  escalations: new Counter({
    name: 'groundwork_escalations_total',
    help: 'Answers sent to human review.',
    labelNames: ['reason', ...T],
    registers: [registry],
  }),
  reviewBacklog: new Gauge({
    name: 'groundwork_review_backlog',
    help: 'Undecided review tasks by status (open, escalated, claimed).',
    labelNames: ['status', ...T],
    registers: [registry],
    // Counted at scrape time by whoever registered a collector (the worker: Temporal visibility).
    async collect() {
      await backlogCollector?.(this);
    },
  }),
  reviewDecisionSeconds: new Histogram({
    name: 'groundwork_review_decision_seconds',
    help: 'Time from a review task opening to its decision.',
    labelNames: ['decision', ...T],
    buckets: [60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600],
    registers: [registry],
  }),
  modelTokens: new Counter({
    name: 'groundwork_model_tokens_total',
    help: 'Model tokens by kind (embedding, prompt, completion) and model.',
    labelNames: ['kind', 'model', ...T],
    registers: [registry],
  }),
  modelCostUsd: new Counter({
    name: 'groundwork_model_cost_usd_total',
    help: 'Model cost in US dollars by model, from the price table (GROUNDWORK_PRICES).',
    labelNames: ['model', ...T],
    registers: [registry],
  }),
  cacheHits: new Counter({
    name: 'groundwork_cache_hits_total',
    help: 'Answers served from the answer cache.',
    labelNames: [...T],
    registers: [registry],
  }),
  cacheMisses: new Counter({
    name: 'groundwork_cache_misses_total',
    help: 'Answer cache lookups that found nothing current.',
    labelNames: [...T],
    registers: [registry],
  }),
  httpRequests: new Counter({
    name: 'groundwork_http_requests_total',
    help: 'HTTP API requests by method, route template ("unmatched" when none) and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  }),
  httpRequestSeconds: new Histogram({
    name: 'groundwork_http_request_seconds',
    help: 'HTTP API request duration, by method and route template.',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  }),
};

type BacklogCollector = (gauge: (typeof metrics)['reviewBacklog']) => Promise<void>;
let backlogCollector: BacklogCollector | undefined;
/** Sets what fills groundwork_review_backlog at scrape time (undefined: nothing); returns the previous one. */
export function setReviewBacklogCollector(collector: BacklogCollector | undefined): BacklogCollector | undefined {
  const previous = backlogCollector;
  backlogCollector = collector;
  return previous;
}

/** More exposition text appended to the registry's (the Temporal SDK's own metrics in a worker process). */
const extraSources = new Set<() => Promise<string>>();
export function addMetricsSource(source: () => Promise<string>): () => void {
  extraSources.add(source);
  return () => extraSources.delete(source);
}

/** The process's metrics in the Prometheus text format: the registry, then every added source. */
export async function renderMetrics(): Promise<{ contentType: string; text: string }> {
  const parts = [await registry.metrics()];
  for (const source of extraSources) {
    const text = await source().catch(() => '');
    if (text.trim()) parts.push(text.endsWith('\n') ? text : `${text}\n`);
  }
  return { contentType: registry.contentType, text: parts.join('') };
}
