// The answering steps when the tenant's model budget refuses a call: whichever step is refused (the question's
// embedding in retrieval, the draft, the verification's embedding), the question ends as `model_unavailable`,
// escalating, never as a failure; runs recorded before the patch keep failing as they did.
import { BudgetExceededError } from '../../activities/ledger';
import { ModelUnavailableError } from '../../activities/models/types';
import { runAnswerSteps } from '../../workflows/answer-steps';
import type { AnswerStepActivities } from '../../workflows/answer-steps';

const chunk = { ref: 'C1', chunkId: 'c1', documentId: 'd', locator: 'p1', text: 'Twenty-five days.', score: 0.9 };
const draft = { notFound: false, claims: [{ text: 'Twenty-five days.', refs: ['C1'] }], confidence: 0.9, model: 'm' };

function steps(refuse: 'retrieve' | 'generate' | 'verify' | 'none', calls: string[]): AnswerStepActivities {
  const maybe = (step: typeof refuse) => {
    calls.push(step);
    if (refuse === step) throw new BudgetExceededError();
  };
  return {
    retrieveChunks: async () => (maybe('retrieve'), { chunks: [chunk], tenantChunks: 1 }),
    generateDraft: async () => (maybe('generate'), draft),
    generateFallbackDraft: async () => (calls.push('fallback'), draft),
    verifyDraft: async () => (
      maybe('verify'),
      { status: 'answered' as const, answer: 'Twenty-five days.', citations: [], confidence: 0.9 }
    ),
  } as unknown as AnswerStepActivities;
}

const isBudgetExceeded = (err: unknown) => err instanceof BudgetExceededError;
const isModelUnavailable = (err: unknown) => err instanceof ModelUnavailableError;
const input = { tenantId: 'acme', question: 'How many days?', topK: 3 };

test.each(['retrieve', 'generate', 'verify'] as const)(
  'a refusal at %s ends as model_unavailable, escalating, even for a tenant with the extractive fallback',
  async (step) => {
    const calls: string[] = [];
    const result = await runAnswerSteps(steps(step, calls), input, {
      isBudgetExceeded,
      isModelUnavailable,
      modelFallback: 'extractive',
    });
    expect(result).toMatchObject({
      status: 'model_unavailable',
      confidence: 0,
      citations: [],
      degraded: { reason: 'MODEL_UNAVAILABLE', fallback: 'escalate' },
    });
    expect(result.retrieved).toHaveLength(step === 'retrieve' ? 0 : 1);
    expect(calls).not.toContain('fallback');
  },
);

test('within budget the steps answer as before', async () => {
  const result = await runAnswerSteps(steps('none', []), input, { isBudgetExceeded, isModelUnavailable });
  expect(result).toMatchObject({ status: 'answered', confidence: 0.9 });
  expect(result.degraded).toBeUndefined();
});

test('runs from before the patch, or without the check, fail with the typed error as they did', async () => {
  await expect(
    runAnswerSteps(steps('generate', []), input, {
      isBudgetExceeded,
      patched: (id) => id !== 'budget-exceeded-degrades',
    }),
  ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
  await expect(runAnswerSteps(steps('retrieve', []), input, {})).rejects.toBeInstanceOf(BudgetExceededError);
});
