// The evaluation activities through MockActivityEnvironment and the failure-mapping interceptor, on a real data dir.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Citation, EvaluationMetrics, EvaluationReport, ReviewOutcome } from '../../workflows/definitions';
import type { Harness } from './harness';
import { applicationFailure, exists, makeHarness, run } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});
afterEach(async () => h.close());

const cite = (documentId: string): Citation => ({
  documentId,
  locator: 'p. 1',
  chunkId: `${documentId}-c1`,
  quote: 'q',
});

function outcome(
  decision: ReviewOutcome['decision'],
  citations: Citation[] = [],
  at = '2025-01-01T00:00:00Z',
): ReviewOutcome {
  return { decision, reviewerId: 'rev-1', answer: 'An answer.', citations, decidedAt: at };
}

const record = (tenantId: string, question: string, o: ReviewOutcome): Promise<void> =>
  run(h.env(), h.activities.recordCorrection, { tenantId, question, outcome: o });
const corrections = (tenantId: string) => run(h.env(), h.activities.loadCorrections, { tenantId });

describe('recordCorrection and loadCorrections', () => {
  test('an approved or edited review becomes a golden question expecting its cited documents, once each', async () => {
    await record(
      'acme',
      'How many vacation days?',
      outcome('approved', [cite('handbook'), cite('handbook'), cite('policy')]),
    );
    await record('acme', 'Who replaces laptops?', outcome('edited', [cite('it-guide')]));
    expect(await corrections('acme')).toEqual([
      { question: 'How many vacation days?', expectAnswer: true, expectedDocuments: ['handbook', 'policy'] },
      { question: 'Who replaces laptops?', expectAnswer: true, expectedDocuments: ['it-guide'] },
    ]);
  });

  test('the latest decision per question wins; case, spacing and final punctuation do not make another question', async () => {
    await record('acme', 'How many vacation days?', outcome('approved', [cite('old')], '2025-01-01T00:00:00Z'));
    await record('acme', '  how MANY   vacation days ', outcome('edited', [cite('new')], '2025-01-02T00:00:00Z'));
    await record('acme', 'How many vacation days!?', outcome('approved', [cite('newest')], '2025-01-03T00:00:00Z'));
    const golden = await corrections('acme');
    expect(golden).toHaveLength(1);
    expect(golden[0]).toMatchObject({ expectAnswer: true, expectedDocuments: ['newest'] });
  });

  test('a rejection gives no golden question, and a later rejection withdraws an earlier approval', async () => {
    await record('acme', 'What is the parking fee?', outcome('rejected'));
    await record('acme', 'How many vacation days?', outcome('approved', [cite('handbook')]));
    await record('acme', 'how many vacation days', outcome('rejected'));
    expect(await corrections('acme')).toEqual([]);
    // ...and a later approval brings it back.
    await record('acme', 'How many vacation days?', outcome('approved', [cite('handbook')]));
    expect((await corrections('acme')).map((g) => g.question)).toEqual(['How many vacation days?']);
  });

  test('an expired review records nothing', async () => {
    await record('acme', 'How many vacation days?', outcome('expired', [cite('handbook')]));
    expect(await corrections('acme')).toEqual([]);
    expect(await exists(path.join(h.dataDir, 'evaluations', 'acme'))).toBe(false);
    // An expiry after an approval does not withdraw it either.
    await record('acme', 'How many vacation days?', outcome('approved', [cite('handbook')]));
    await record('acme', 'How many vacation days?', outcome('expired'));
    expect(await corrections('acme')).toHaveLength(1);
  });

  test('corrections belong to their tenant', async () => {
    await record('acme', 'How many vacation days?', outcome('approved', [cite('handbook')]));
    expect(await corrections('beta')).toEqual([]);
    expect(await corrections('acme')).toHaveLength(1);
  });

  test('a torn last line (a crash mid-append) is skipped, not fatal', async () => {
    await record('acme', 'How many vacation days?', outcome('approved', [cite('handbook')]));
    await fs.appendFile(path.join(h.dataDir, 'evaluations', 'acme', 'corrections.jsonl'), '{"question":"Half a rec');
    expect(await corrections('acme')).toHaveLength(1);
  });

  test('invalid tenant ids are non-retryable INVALID_TENANT failures', async () => {
    const a = await applicationFailure(record('../acme', 'Q?', outcome('approved')));
    const b = await applicationFailure(corrections('../acme'));
    expect([a.type, a.nonRetryable, b.type, b.nonRetryable]).toEqual(['INVALID_TENANT', true, 'INVALID_TENANT', true]);
  });
});

describe('loadBaseline and saveEvaluation', () => {
  const metrics = (answerAccuracy: number): EvaluationMetrics => ({
    questions: 4,
    retrievalHitRate: 1,
    answerAccuracy,
    abstentionAccuracy: null,
    meanConfidence: 0.8,
    escalationRate: 0.25,
  });
  const report = (tenantId: string, m: EvaluationMetrics): EvaluationReport => ({
    tenantId,
    runAt: '2025-01-01T00:00:00Z',
    metrics: m,
    drift: { detected: false, reasons: [] },
    results: [{ question: 'Q?', status: 'answered', confidence: 0.8, retrievalHit: true, correct: true }],
  });
  const baseline = (tenantId: string) => run(h.env(), h.activities.loadBaseline, { tenantId });
  const save = (r: EvaluationReport, setBaseline: boolean) =>
    run(h.env(), h.activities.saveEvaluation, { report: r, setBaseline });

  test('there is no baseline until a run is saved as one', async () => {
    expect(await baseline('acme')).toBeNull();
    await save(report('acme', metrics(0.5)), false);
    expect(await baseline('acme')).toBeNull();
    await save(report('acme', metrics(0.75)), true);
    expect(await baseline('acme')).toEqual(metrics(0.75));
  });

  test('a later run that does not set the baseline keeps the old one, but is saved as the latest report', async () => {
    await save(report('acme', metrics(0.75)), true);
    await save(report('acme', metrics(0.25)), false);
    expect(await baseline('acme')).toEqual(metrics(0.75));
    const latest = JSON.parse(
      await fs.readFile(path.join(h.dataDir, 'evaluations', 'acme', 'latest.json'), 'utf8'),
    ) as EvaluationReport;
    expect(latest.metrics).toEqual(metrics(0.25));
  });

  test('baselines belong to their tenant', async () => {
    await save(report('acme', metrics(0.75)), true);
    expect(await baseline('beta')).toBeNull();
  });

  test('invalid tenant ids are non-retryable INVALID_TENANT failures', async () => {
    const a = await applicationFailure(baseline('a b'));
    const b = await applicationFailure(save(report('../../etc', metrics(1)), true));
    expect([a.type, a.nonRetryable, b.type, b.nonRetryable]).toEqual(['INVALID_TENANT', true, 'INVALID_TENANT', true]);
    expect(await exists(path.join(h.dataDir, 'etc'))).toBe(false);
  });
});
