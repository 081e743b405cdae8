// Worker metrics recorded where the work happens: at the boundary of the activities that parse, activate or fail a
// document, verify an answer, notify reviewers and record a review decision. An activity interceptor, so the
// activities stay free of metric code, and answers computed inside other activities (evaluation runs call the
// answering functions directly) are not counted as served answers. Recording never fails an activity.
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  Next,
} from '@temporalio/worker';
import type { Activities } from '../activities';
import { labelsFor, metrics } from '../common/metrics';

type ActivityName = keyof Activities;
const name = <N extends ActivityName>(n: N): N => n;
const PREPARE = name('prepareDocument');
const ACTIVATE = name('activateDocument');
const INGEST_FAILED = name('recordIngestFailure');
const RETRIEVE = name('retrieveChunks');
const VERIFY = name('verifyDraft');
const NOTIFY = name('notifyReviewers');
const DECIDED = name('recordCorrection');

/** Error codes and decisions become label values only in this shape: a bounded, known-safe set. */
const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
const DECISIONS = new Set(['approved', 'edited', 'rejected', 'expired']);
const REASONS: Record<string, string> = { LOW_CONFIDENCE: 'low_confidence', MODEL_UNAVAILABLE: 'model_unavailable' };

/** When each answer run's retrieval started, so that the verified answer's time covers retrieve → verify. */
const retrievalStarted = new Map<string, number>();
const MAX_TRACKED_RUNS = 10_000;

interface TenantInput {
  tenantId?: string;
}

function runKey(ctx: Context): string {
  const wf = ctx.info.workflowExecution;
  return `${wf?.workflowId}/${wf?.runId}`;
}

/** When the workflow run that scheduled this activity started (an RPC; only when it is not known here). */
async function workflowStart(ctx: Context): Promise<number | undefined> {
  const wf = ctx.info.workflowExecution;
  if (!wf) return undefined;
  const description = await ctx.client.workflow.getHandle(wf.workflowId, wf.runId).describe();
  return description.startTime.getTime();
}

async function record(ctx: Context, input: unknown, result: unknown, startedAt: number): Promise<void> {
  const type = ctx.info.activityType;
  const tenantId = (input as TenantInput | undefined)?.tenantId;
  const seconds = (from: number): number => Math.max(0, (Date.now() - from) / 1000);
  if (type === PREPARE) {
    const prepared = result as { unchanged: boolean; pages?: number; sheets?: number };
    if (prepared.unchanged) {
      metrics.ingestDocuments.inc(labelsFor({ status: 'unchanged', code: '' }, tenantId));
      return;
    }
    const pages = (prepared.pages ?? 0) + (prepared.sheets ?? 0);
    if (pages > 0) metrics.ingestPages.inc(labelsFor({}, tenantId), pages);
    metrics.ingestSeconds.observe(labelsFor({}, tenantId), seconds(startedAt));
  } else if (type === ACTIVATE) {
    metrics.ingestDocuments.inc(labelsFor({ status: 'ingested', code: '' }, tenantId));
  } else if (type === INGEST_FAILED) {
    const code = (input as { code?: string }).code ?? '';
    metrics.ingestDocuments.inc(labelsFor({ status: 'failed', code: CODE.test(code) ? code : 'OTHER' }, tenantId));
  } else if (type === VERIFY) {
    const verified = result as { status: string; confidence: number };
    const status = verified.status === 'answered' || verified.status === 'not_found' ? verified.status : 'other';
    metrics.answers.inc(labelsFor({ status }, tenantId));
    metrics.answerConfidence.observe(labelsFor({}, tenantId), verified.confidence);
    const key = runKey(ctx);
    const from = retrievalStarted.get(key) ?? (await workflowStart(ctx));
    retrievalStarted.delete(key);
    if (from !== undefined) metrics.answerSeconds.observe(labelsFor({}, tenantId), seconds(from));
  } else if (type === DECIDED) {
    const outcome = (input as { outcome?: { decision?: string; decidedAt?: string } }).outcome;
    const decision = outcome?.decision && DECISIONS.has(outcome.decision) ? outcome.decision : 'other';
    const decidedAt = outcome?.decidedAt ? Date.parse(outcome.decidedAt) : NaN;
    const openedAt = await workflowStart(ctx);
    if (openedAt !== undefined && Number.isFinite(decidedAt))
      metrics.reviewDecisionSeconds.observe(
        labelsFor({ decision }, tenantId),
        Math.max(0, (decidedAt - openedAt) / 1000),
      );
  }
}

class ActivityMetricsInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { ctx } = this;
    const type = ctx.info.activityType;
    const arg = input.args[0];
    const startedAt = Date.now();
    if (type === RETRIEVE && ctx.info.attempt === 1) {
      // Runs whose retrieval found nothing never verify: the oldest entries make room (a Map keeps insertion order).
      if (retrievalStarted.size >= MAX_TRACKED_RUNS)
        retrievalStarted.delete(retrievalStarted.keys().next().value ?? '');
      retrievalStarted.set(runKey(ctx), startedAt);
    }
    if (type === NOTIFY && ctx.info.attempt === 1) {
      // A task opening is an answer sent to review; later attempts and escalation notices are not counted again.
      const notice = arg as { event?: string; reason?: string; tenantId?: string } | undefined;
      if (notice?.event === 'opened')
        metrics.escalations.inc(
          labelsFor({ reason: REASONS[notice.reason ?? 'LOW_CONFIDENCE'] ?? 'other' }, notice.tenantId),
        );
    }
    const result = await next(input);
    // Not awaited: what needs an RPC (a workflow's start time) must not delay the activity's completion.
    void record(ctx, arg, result, startedAt).catch(() => undefined);
    return result;
  }
}

/** For Worker.create({ interceptors: { activity: [...] } }). */
export const activityMetrics = (ctx: Context): ActivityInterceptors => ({
  inbound: new ActivityMetricsInterceptor(ctx),
});
