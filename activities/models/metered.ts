// Metered models: a decorator around an Embedder or Answerer that, for every call, checks the tenant's monthly
// budget (refusing with BUDGET_EXCEEDED once it is spent), measures tokens (the provider's `usage` when it reports
// one, else counted with gpt-tokenizer), prices them, increments the token and cost metrics, and appends the call to
// the cost ledger (activities/ledger.ts) with the workflow and activity it was for. The tenant comes from the
// activity's input (usage-context.ts), the workflow and activity from the activity's Context.
import { Context, log } from '@temporalio/activity';
import { countTokens } from 'gpt-tokenizer';
import type { ModelPrice } from '../../common/config';
import { labelsFor, metrics } from '../../common/metrics';
import { BudgetExceededError, roundUsd } from '../ledger';
import type { BudgetStore, UsageKind, UsageLedger, UsageTokens } from '../ledger';
import { captureModelUsage, currentTenantId } from '../usage-context';
import type { ReportedUsage } from '../usage-context';
import type { AnswerInput, Answerer, DraftAnswer, EmbedOptions, Embedder } from './types';

/**
 * Default prices in USD per 1M tokens: OpenAI's API pricing page (https://openai.com/api/pricing, standard tier, text
 * tokens), as published in 2025 (checked against the 2025-06 list). Providers change prices: override with
 * GROUNDWORK_PRICES. The offline and local models cost nothing but are priced, so their calls count as priced.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'text-embedding-3-small': { embedding: 0.02 },
  'text-embedding-3-large': { embedding: 0.13 },
  // Offline and local models (config.ts modelsConfig): no provider bill.
  'lexical-v1': { embedding: 0 },
  extractive: { input: 0, output: 0 },
  'multilingual-e5-small': { embedding: 0 },
  'multilingual-e5-small-q4': { embedding: 0 },
};

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** GROUNDWORK_PRICES over the defaults, field by field (an override of `input` keeps the default `output`). */
export function priceTable(overrides: Record<string, ModelPrice> = {}): PriceTable {
  const table: Record<string, ModelPrice> = { ...DEFAULT_PRICES };
  for (const [model, p] of Object.entries(overrides)) table[model] = { ...table[model], ...p };
  return table;
}

/** The cost of one call's tokens; an unknown model costs 0 and is not `priced`. */
export function costOf(prices: PriceTable, model: string, tokens: UsageTokens): { costUsd: number; priced: boolean } {
  const p = Object.hasOwn(prices, model) ? prices[model] : undefined;
  if (!p) return { costUsd: 0, priced: false };
  const usd =
    (tokens.embedding * (p.embedding ?? 0) + tokens.prompt * (p.input ?? 0) + tokens.completion * (p.output ?? 0)) /
    1_000_000;
  return { costUsd: roundUsd(usd), priced: true };
}

export interface MeterOptions {
  ledger: UsageLedger;
  /** Budgets to enforce; unset: calls are recorded but never refused. */
  budgets?: BudgetStore;
  prices: PriceTable;
  /** The model name the price table knows it by (the configured model, e.g. gpt-4o-mini). */
  model: string;
  /** One structured line when a tenant first reaches the warning share of its month's budget. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
  now?: () => Date;
}

interface CallContext {
  tenantId?: string;
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  activityType?: string;
}

function callContext(fallbackTenant?: string): CallContext {
  const tenantId = currentTenantId() ?? fallbackTenant;
  try {
    const info = Context.current().info;
    return {
      tenantId,
      workflowId: info.workflowExecution?.workflowId,
      runId: info.workflowExecution?.runId,
      workflowType: info.workflowType,
      activityType: info.activityType,
    };
  } catch {
    return { tenantId }; // not in an activity (scripts, unit tests)
  }
}

function activityWarn(message: string, fields: Record<string, unknown>): void {
  try {
    log.warn(message, fields);
  } catch {
    // not in an activity: the worker's logger is not reachable
    console.warn(JSON.stringify({ level: 'warn', message, ...fields }));
  }
}

const tokensOf = (texts: string[]): number => texts.reduce((n, t) => n + (t ? countTokens(t) : 0), 0);

/** The shared part: budget before, ledger and metrics after. */
class Meter {
  constructor(private readonly o: MeterOptions) {}

  get model(): string {
    return this.o.model;
  }

  async before(ctx: CallContext): Promise<void> {
    if (!ctx.tenantId || !this.o.budgets) return;
    const status = await this.o.budgets.status(ctx.tenantId, this.now());
    if (status?.state === 'exceeded') throw new BudgetExceededError();
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  async after(ctx: CallContext, kind: UsageKind, tokens: UsageTokens, latencyMs: number): Promise<void> {
    const model = this.o.model;
    const { costUsd, priced } = costOf(this.o.prices, model, tokens);
    if (kind === 'embedding')
      metrics.modelTokens.inc(labelsFor({ kind: 'embedding', model }, ctx.tenantId), tokens.embedding);
    else {
      metrics.modelTokens.inc(labelsFor({ kind: 'prompt', model }, ctx.tenantId), tokens.prompt);
      metrics.modelTokens.inc(labelsFor({ kind: 'completion', model }, ctx.tenantId), tokens.completion);
    }
    metrics.modelCostUsd.inc(labelsFor({ model }, ctx.tenantId), costUsd);
    if (!ctx.tenantId) return; // no tenant: metrics only (the ledger is per tenant)
    const warn = this.o.warn ?? activityWarn;
    const at = this.now();
    try {
      await this.o.ledger.record({
        at: at.toISOString(),
        tenantId: ctx.tenantId,
        kind,
        model,
        tokens,
        latencyMs,
        costUsd,
        priced,
        ...(ctx.workflowId ? { workflowId: ctx.workflowId } : {}),
        ...(ctx.runId ? { runId: ctx.runId } : {}),
        ...(ctx.workflowType ? { workflowType: ctx.workflowType } : {}),
        ...(ctx.activityType ? { activityType: ctx.activityType } : {}),
      });
      if (!this.o.budgets) return;
      const status = await this.o.budgets.status(ctx.tenantId, at);
      if (status && status.state !== 'ok' && (await this.o.budgets.firstWarning(ctx.tenantId, at)))
        warn('tenant model budget reached 80%', {
          tenantId: ctx.tenantId,
          month: at.toISOString().slice(0, 7),
          budgetUsd: status.usd,
          spentUsd: status.spentUsd,
          state: status.state,
        });
    } catch (err) {
      // The model was called (and paid for): failing the activity would retry and pay again. Logged, not thrown.
      warn('the model call could not be recorded in the cost ledger', {
        code: (err as { code?: string }).code ?? 'UNKNOWN',
      });
    }
  }
}

export class MeteredEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  private readonly meter: Meter;

  constructor(
    private readonly inner: Embedder,
    options: MeterOptions,
  ) {
    this.id = inner.id;
    this.dimensions = inner.dimensions;
    this.meter = new Meter(options);
  }

  async embed(texts: string[], options?: EmbedOptions): Promise<number[][]> {
    const ctx = callContext();
    await this.meter.before(ctx);
    const started = performance.now();
    const { value, usage } = await captureModelUsage(() => this.inner.embed(texts, options));
    const latencyMs = Math.round(performance.now() - started);
    const embedding = usage ? usage.prompt : tokensOf(texts);
    await this.meter.after(ctx, 'embedding', { embedding, prompt: 0, completion: 0 }, latencyMs);
    return value;
  }
}

export class MeteredAnswerer implements Answerer {
  readonly id: string;
  private readonly meter: Meter;

  constructor(
    private readonly inner: Answerer,
    options: MeterOptions,
  ) {
    this.id = inner.id;
    this.meter = new Meter(options);
  }

  async answer(input: AnswerInput): Promise<DraftAnswer> {
    // Nothing retrieved: the answerers make no call, so there is nothing to refuse or record.
    if (input.context.length === 0) return this.inner.answer(input);
    const ctx = callContext(input.tenantId);
    await this.meter.before(ctx);
    const started = performance.now();
    const { value, usage } = await captureModelUsage(() => this.inner.answer(input));
    const latencyMs = Math.round(performance.now() - started);
    // The PII policy blocked the request: no call was made.
    if (value.blocked) return value;
    await this.meter.after(ctx, 'chat', { embedding: 0, ...(usage ?? countedUsage(input, value)) }, latencyMs);
    return value;
  }
}

/** Without the provider's usage: the question and chunks as prompt, the claims as completion. */
function countedUsage(input: AnswerInput, draft: DraftAnswer): ReportedUsage {
  return {
    prompt: tokensOf([input.question, ...input.context.map((c) => c.text)]),
    completion: tokensOf(draft.claims.map((c) => c.text)),
  };
}

/** Both models metered, for createActivityDeps. */
export function meterModels(
  models: { embedder: Embedder; answerer: Answerer },
  options: Omit<MeterOptions, 'model'> & { embeddingModel: string; chatModel: string },
): { embedder: Embedder; answerer: Answerer } {
  const { embeddingModel, chatModel, ...shared } = options;
  return {
    embedder: new MeteredEmbedder(models.embedder, { ...shared, model: embeddingModel }),
    answerer: new MeteredAnswerer(models.answerer, { ...shared, model: chatModel }),
  };
}
