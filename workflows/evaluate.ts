// Re-evaluation: golden questions (given plus reviewer corrections) run through the answering path without
// escalation; metrics are compared with the tenant's baseline and drift is flagged. Golden questions are evaluated
// in pages, each inside one activity (chunk text, drafts and signals never enter history), and the run continues as
// new when its history grows, carrying only its tally and wrong answers: any golden-set size stays bounded.
import { continueAsNew, log, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type {
  EvaluateTenantInput,
  EvaluationQuestionResult,
  EvaluationReport,
  EvaluationResume,
  EvaluationRunStats,
  GoldenQuestion,
} from './definitions';
import { normalizeQuestion } from '../common/ids';
import { EvalDriftKey } from './definitions';
import { answering, evaluationRun, evaluationSets, evaluationStore } from './proxies';
import { runAnswerPipeline } from './pipeline';
import {
  addTallies,
  computeMetrics,
  dedupeGolden,
  detectDrift,
  emptyTally,
  goldenLabel,
  metricsOf,
  scoreQuestion,
} from './evaluation-scoring';
import type { GoldenLabel } from './evaluation-scoring';
import type { EvaluationPageInput } from '../activities/evaluation-run';

export { computeMetrics, detectDrift } from './evaluation-scoring';

const LABELS_PER_CALL = 200;
/** Golden questions per activity. */
const PAGE_SIZE = 20;
/** Wrong answers a report lists (every result is kept in the evaluation store). */
const MAX_LISTED_FAILURES = 200;
/** Continue as new long before the 10k-event limit: about every 40 pages (a page costs about 6 events). */
const MAX_HISTORY_EVENTS = 250;

type Input = EvaluateTenantInput & { tolerance?: number };
type Policy = Awaited<ReturnType<typeof answering.tenantPolicy>>;

export async function evaluateTenant(input: Input): Promise<EvaluationReport> {
  // The golden set by reference: merged with the corrections and kept in the evaluation store by one activity; pages
  // read it there. Continued runs of such a run carry its hash and size in `resume.set`.
  if (input.resume?.set !== undefined || (input.resume === undefined && patched('golden-by-reference')))
    return evaluateStoredSet(input);
  const corrections =
    input.includeCorrections === false ? [] : await evaluationStore.loadCorrections({ tenantId: input.tenantId });
  const golden = dedupe([...input.golden, ...corrections]);
  const policy = await answering.tenantPolicy({ tenantId: input.tenantId });
  // Runs started before pages answer every question in this workflow, as they did.
  if (input.resume || patched('evaluation-in-pages')) return evaluateInPages(input, golden, policy);

  const results: EvaluationQuestionResult[] = [];
  const labels: GoldenLabel[] = [];
  for (const g of golden) {
    const r = await runAnswerPipeline(input.tenantId, g.question, policy.topK);
    const scored = scoreQuestion(g, r);
    results.push(scored);
    const label = goldenLabel(g, r, scored.correct);
    if (label) labels.push(label);
  }
  // Golden outcomes label the tenant's calibration; with enough labels (golden plus reviewer decisions) it is refit,
  // and the tenant's threshold follows from the new fit.
  let calibration: EvaluationReport['calibration'];
  if (patched('calibration-refit')) {
    // In pages, so no payload grows with the golden set.
    for (let i = 0; i < labels.length; i += LABELS_PER_CALL)
      await answering.recordLabels({ tenantId: input.tenantId, labels: labels.slice(i, i + LABELS_PER_CALL) });
    calibration = await refit(input.tenantId);
  }
  return finish(input, policy, computeMetrics(golden, results, policy.threshold), results, calibration);
}

/** A golden set kept in the evaluation store (prepareGoldenSet): only its hash and size enter history. */
async function evaluateStoredSet(input: Input): Promise<EvaluationReport> {
  const set =
    input.resume?.set ??
    (await evaluationSets.prepareGoldenSet({
      tenantId: input.tenantId,
      golden: input.golden,
      ...(input.goldenRef === undefined ? {} : { goldenRef: input.goldenRef }),
      includeCorrections: input.includeCorrections !== false,
    }));
  const policy = await answering.tenantPolicy({ tenantId: input.tenantId });
  const state: EvaluationResume = input.resume ?? {
    runKey: workflowInfo().firstExecutionRunId,
    cursor: 0,
    tally: emptyTally(),
    failures: [],
    set: { ref: set.ref, total: set.total },
  };
  return evaluatePages(input, state, policy, {
    total: set.total,
    page: (cursor) => ({ page: { ref: set.ref, offset: cursor, limit: PAGE_SIZE } }),
    // Where the run stands, and the set's hash and size; the questions stay in the store.
    carry: { golden: [], goldenRef: undefined, includeCorrections: false },
  });
}

async function evaluateInPages(input: Input, golden: GoldenQuestion[], policy: Policy): Promise<EvaluationReport> {
  const state: EvaluationResume = input.resume ?? {
    runKey: workflowInfo().firstExecutionRunId,
    cursor: 0,
    tally: emptyTally(),
    failures: [],
  };
  return evaluatePages(input, state, policy, {
    total: golden.length,
    page: (cursor) => ({ golden: golden.slice(cursor, cursor + PAGE_SIZE) }),
    // The golden set (with the corrections already merged) and where the run stands; nothing else.
    carry: { golden, includeCorrections: false },
  });
}

/** Where a run's pages come from, and what a continued run carries besides its progress. */
interface PageSource {
  total: number;
  page: (cursor: number) => Pick<EvaluationPageInput, 'golden' | 'page'>;
  carry: Partial<Input>;
}

async function evaluatePages(
  input: Input,
  state: EvaluationResume,
  policy: Policy,
  source: PageSource,
): Promise<EvaluationReport> {
  while (state.cursor < source.total) {
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof evaluateTenant>({ ...input, ...source.carry, resume: state });
    }
    const page = await evaluationRun.evaluateGoldenPage({
      tenantId: input.tenantId,
      runKey: state.runKey,
      ...source.page(state.cursor),
      topK: policy.topK,
      threshold: policy.threshold,
      modelFallback: policy.modelFallback,
      ...(input.promptVersion === undefined ? {} : { promptVersion: input.promptVersion }),
    });
    state.tally = addTallies(state.tally, page.tally);
    if (page.stats) state.stats = addRunStats(state.stats, page.stats);
    state.failures = [...state.failures, ...page.failures].slice(0, MAX_LISTED_FAILURES);
    state.cursor += PAGE_SIZE;
  }
  // A run with its own prompt version is an experiment: the tenant's calibration is left as it is. (Runs from before
  // the field never carry one, so their recorded steps are unchanged.)
  const calibration = input.promptVersion === undefined ? await refit(input.tenantId) : undefined;
  const stats = state.stats;
  const drafted = stats
    ? {
        ...(stats.promptVersions.length > 0 ? { promptVersion: stats.promptVersions.join(',') } : {}),
        ...(stats.models.length > 0 ? { model: stats.models.join(',') } : {}),
        servedWrongRate: state.tally.questions === 0 ? 0 : stats.servedWrong / state.tally.questions,
        p50LatencyMs: medianMs(stats.latenciesMs),
      }
    : {};
  return finish(input, policy, metricsOf(state.tally), state.failures, calibration, 'failures', drafted);
}

/** The stats of two pages (or of a run so far and a page) together; distinct versions and models, in first-seen order. */
export function addRunStats(a: EvaluationRunStats | undefined, b: EvaluationRunStats | undefined): EvaluationRunStats {
  const union = (x: string[] = [], y: string[] = []): string[] => [...new Set([...x, ...y])];
  return {
    servedWrong: (a?.servedWrong ?? 0) + (b?.servedWrong ?? 0),
    latenciesMs: [...(a?.latenciesMs ?? []), ...(b?.latenciesMs ?? [])],
    promptVersions: union(a?.promptVersions, b?.promptVersions),
    models: union(a?.models, b?.models),
  };
}

/** The median of the latencies (the mean of the middle two for an even count); null without any. */
export function medianMs(latencies: number[]): number | null {
  if (latencies.length === 0) return null;
  const s = [...latencies].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

async function refit(tenantId: string): Promise<EvaluationReport['calibration']> {
  const fit = await answering.refitCalibration({ tenantId });
  return { version: fit.version, labels: fit.labels, refitted: fit.refitted };
}

async function finish(
  input: Input,
  policy: Policy,
  metrics: EvaluationReport['metrics'],
  results: EvaluationQuestionResult[],
  calibration: EvaluationReport['calibration'],
  resultsScope?: 'failures',
  drafted: Pick<EvaluationReport, 'promptVersion' | 'model' | 'servedWrongRate' | 'p50LatencyMs'> = {},
): Promise<EvaluationReport> {
  const baseline = (await evaluationStore.loadBaseline({ tenantId: input.tenantId })) ?? undefined;
  const drift = detectDrift(metrics, baseline, input.tolerance ?? policy.driftTolerance);
  const report: EvaluationReport = {
    tenantId: input.tenantId,
    runAt: new Date().toISOString(),
    metrics,
    baseline,
    drift,
    results,
    ...(resultsScope ? { resultsScope } : {}),
    ...(calibration ? { calibration } : {}),
    ...drafted,
  };
  // The first run becomes the baseline, unless it is an experiment with its own prompt version.
  const setBaseline = input.setBaseline === true || (baseline === undefined && input.promptVersion === undefined);
  // With the run's key and scoring, the activity keeps the run's record and writes its HTML report.
  if (patched('evaluation-report'))
    await evaluationStore.saveEvaluation({
      report,
      setBaseline,
      run: {
        runKey: workflowInfo().firstExecutionRunId,
        threshold: policy.threshold,
        driftTolerance: input.tolerance ?? policy.driftTolerance,
      },
    });
  else await evaluationStore.saveEvaluation({ report, setBaseline });
  upsertSearchAttributes([{ key: EvalDriftKey, value: drift.detected }]);
  if (drift.detected) log.warn('quality drift detected', { tenantId: input.tenantId, reasons: drift.reasons });
  return report;
}

function dedupe(golden: GoldenQuestion[]): GoldenQuestion[] {
  // Runs started before the one question rule keep the rule they began with.
  return dedupeGolden(golden, patched('one-question-rule') ? normalizeQuestion : (q: string) => q.trim().toLowerCase());
}
