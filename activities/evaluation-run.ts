// A page of golden questions evaluated inside one activity: each goes through the answering steps the workflows use
// (workflows/answer-steps.ts) over the answering activities themselves, so retrieved chunk text, drafts and signals
// stay out of the evaluation's history. Only the page's tally and its wrong answers go back; every result is kept in
// the evaluation store under the run, and the golden outcomes become calibration labels.
import { Context } from '@temporalio/activity';
import { GroundworkError, isGroundworkError } from '../common/errors';
import { assertTenantId } from '../common/ids';
import { recentPromises } from '../common/recent';
import type { EvaluationQuestionResult, EvaluationRunStats, GoldenQuestion } from '../workflows/definitions';
import { runAnswerSteps } from '../workflows/answer-steps';
import type { AnswerStepActivities } from '../workflows/answer-steps';
import type { EvaluationTally } from '../workflows/evaluation-scoring';
import { goldenLabel, scoreQuestion, tallyOf } from '../workflows/evaluation-scoring';
import type { EvaluationStore, StoredLabel } from './evaluation-store';
import { readGoldenSet } from './golden-sets';

export interface EvaluationPageInput {
  tenantId: string;
  /** The evaluation run (its first run id): results of every page and continued run are kept together. */
  runKey: string;
  /** The page's questions, given inline (runs started before golden sets by reference)... */
  golden?: GoldenQuestion[];
  /** ...or where they stand in the run's golden set (prepareGoldenSet kept it under its content hash, `ref`). */
  page?: { ref: string; offset: number; limit: number };
  topK: number;
  threshold: number;
  modelFallback: 'escalate' | 'extractive';
  /** A prompt version to answer with instead of the worker's pinned one; such a page records no calibration labels. */
  promptVersion?: string;
}

export interface EvaluationPage {
  tally: EvaluationTally;
  /** The wrong answers of the page (what a report lists). */
  failures: EvaluationQuestionResult[];
  /** Served-wrong count, latencies, prompt versions and models of the page. */
  stats?: EvaluationRunStats;
}

/**
 * Characters of a question a wrong answer is listed with in the page's answer (and so in the report and history): the
 * report lists up to 200, and questions may have 2,000 characters. The run's results keep every question whole.
 */
const LISTED_QUESTION_CHARS = 300;

function listed(result: EvaluationQuestionResult): EvaluationQuestionResult {
  if (result.question.length <= LISTED_QUESTION_CHARS) return result;
  return { ...result, question: `${result.question.slice(0, LISTED_QUESTION_CHARS - 1)}…` };
}

/** Golden sets kept parsed on this worker: a run reads its set once, not once per page. */
const SETS_KEPT = 4;
/** Questions one page may ask for at most. */
const MAX_PAGE = 200;

export function createEvaluationRunActivities(deps: { steps: AnswerStepActivities; store: EvaluationStore }) {
  const kept = recentPromises<GoldenQuestion[]>(SETS_KEPT);
  const goldenSet = (tenantId: string, ref: string): Promise<GoldenQuestion[]> =>
    kept(`${tenantId}\u0000${ref}`, () => readGoldenSet(deps.store, tenantId, ref));
  const questionsOf = async (input: EvaluationPageInput): Promise<GoldenQuestion[]> => {
    if (input.golden) return input.golden;
    const { ref, offset, limit } = input.page ?? { ref: '', offset: -1, limit: 0 };
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw new GroundworkError(
        'INVALID_INPUT',
        `A page of golden questions needs an offset of 0 or more and 1 to ${MAX_PAGE} questions.`,
      );
    return (await goldenSet(input.tenantId, ref)).slice(offset, offset + limit);
  };
  return {
    async evaluateGoldenPage(input: EvaluationPageInput): Promise<EvaluationPage> {
      assertTenantId(input.tenantId);
      const golden = await questionsOf(input);
      const results: EvaluationQuestionResult[] = [];
      const labels: StoredLabel[] = [];
      const recordedAt = new Date().toISOString();
      const stats: EvaluationRunStats = { servedWrong: 0, latenciesMs: [], promptVersions: [], models: [] };
      for (const [i, g] of golden.entries()) {
        Context.current().heartbeat(i);
        const started = performance.now();
        const r = await runAnswerSteps(
          deps.steps,
          { tenantId: input.tenantId, question: g.question, topK: input.topK, promptVersion: input.promptVersion },
          {
            modelFallback: input.modelFallback,
            isModelUnavailable: (err) => isGroundworkError(err) && err.code === 'MODEL_UNAVAILABLE',
          },
        );
        stats.latenciesMs.push(Math.round(performance.now() - started));
        const scored = scoreQuestion(g, r);
        results.push(scored);
        if (!scored.correct && r.confidence >= input.threshold) stats.servedWrong += 1;
        if (r.promptVersion !== undefined && !stats.promptVersions.includes(r.promptVersion))
          stats.promptVersions.push(r.promptVersion);
        if (r.model !== 'none' && !stats.models.includes(r.model)) stats.models.push(r.model);
        const label = goldenLabel(g, r, scored.correct);
        if (label) labels.push({ ...label, recordedAt });
      }
      // Answers drafted with another prompt than the pinned one do not label the tenant's calibration.
      if (input.promptVersion === undefined) await deps.store.addLabels(input.tenantId, labels);
      await deps.store.appendRunResults(input.tenantId, input.runKey, results);
      return {
        tally: tallyOf(golden, results, input.threshold),
        failures: results.filter((r) => !r.correct).map(listed),
        stats,
      };
    },
  };
}
