// `eval compare` over a stand-in client (the integration test runs the real workflow): versions are checked before
// anything runs, each version is evaluated in turn with its promptVersion, differences are against the first version,
// tokens and cost come from the cost ledger's evaluation calls, and what the drafts recorded is checked.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageLedger } from '../../activities/ledger';
import { checkVersions, comparePromptVersions, formatComparison } from '../../client/cli-eval-compare';
import { addRunStats, medianMs } from '../../workflows/evaluate';
import type { EvaluateTenantInput, EvaluationReport } from '../../workflows/definitions';

const golden = [{ question: 'How many days?' }, { question: 'Which colour?', expectAnswer: false }];

function report(over: Partial<EvaluationReport> & { accuracy: number; notFound: number | null }): EvaluationReport {
  const { accuracy, notFound, ...rest } = over;
  return {
    tenantId: 'acme',
    runAt: new Date().toISOString(),
    metrics: {
      questions: 2,
      retrievalHitRate: 1,
      answerAccuracy: accuracy,
      abstentionAccuracy: notFound,
      meanConfidence: 0.7,
      escalationRate: 0.5,
    },
    drift: { detected: false, reasons: [] },
    results: [],
    ...rest,
  };
}

/** Answers like a worker would: the report records the version asked for, and a ledger line per chat call. */
function fakeClient(ledgerDir?: string) {
  const calls: EvaluateTenantInput[] = [];
  return {
    calls,
    async runEvaluation(input: EvaluateTenantInput): Promise<EvaluationReport> {
      calls.push(input);
      const strict = input.promptVersion === 'v2';
      if (ledgerDir)
        await UsageLedger.inDataDir(ledgerDir).record({
          tenantId: input.tenantId,
          kind: 'chat',
          model: 'm',
          tokens: { embedding: 0, prompt: strict ? 300 : 200, completion: 20 },
          latencyMs: 5,
          costUsd: strict ? 0.0003 : 0.0002,
          priced: true,
          workflowId: 'evaluation-acme',
          workflowType: 'evaluateTenant',
        });
      return report({
        accuracy: strict ? 1 : 0.5,
        notFound: strict ? 1 : 0,
        servedWrongRate: strict ? 0 : 0.5,
        p50LatencyMs: strict ? 120 : 100,
        promptVersion: input.promptVersion,
        model: 'openai:m',
      });
    },
  };
}

test('versions are checked before anything runs: known, distinct, at least two', () => {
  expect(checkVersions(['v2', 'v1'])).toEqual(['v2', 'v1']);
  expect(() => checkVersions(['v1', 'v7'])).toThrow(expect.objectContaining({ code: 'PROMPT_VERSION_UNKNOWN' }));
  expect(() => checkVersions(['v1', 'latest'])).toThrow(expect.objectContaining({ code: 'PROMPT_VERSION_UNKNOWN' }));
  expect(() => checkVersions(['v1', 'v1'])).toThrow(/once/);
  expect(() => checkVersions(['v1'])).toThrow(/two or more/);
});

test('each version is evaluated in turn and compared with the first; tokens and cost come from the ledger', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-compare-'));
  try {
    const client = fakeClient(dataDir);
    const c = await comparePromptVersions(client, {
      tenantId: 'acme',
      golden,
      promptVersions: ['v1', 'v2'],
      dataDir,
    });
    expect(client.calls.map((x) => x.promptVersion)).toEqual(['v1', 'v2']);
    expect(client.calls.every((x) => x.golden === golden && x.tenantId === 'acme' && !x.setBaseline)).toBe(true);
    expect(c.reference).toBe('v1');
    expect(c.runs[0]!.metrics).toEqual({
      accuracy: 0.5,
      notFoundAccuracy: 0,
      servedWrongRate: 0.5,
      escalationRate: 0.5,
      meanConfidence: 0.7,
      p50LatencyMs: 100,
      tokens: 220,
      costUsd: 0.0002,
    });
    const d = c.differences[0]!;
    expect(d).toMatchObject({ promptVersion: 'v2', versus: 'v1' });
    expect(d.delta.accuracy).toBeCloseTo(0.5);
    expect(d.delta.servedWrongRate).toBeCloseTo(-0.5);
    expect(d.delta.p50LatencyMs).toBe(20);
    expect(d.delta.tokens).toBe(100);
    const text = formatComparison(c);
    expect(text).toMatch(/^metric\s+v1\s+v2\s+v2 - v1$/m);
    expect(text).toMatch(/^served wrong\s+0\.500\s+0\.000\s+-0\.500$/m);
    expect(text).toMatch(/^p50 latency \(ms\)\s+100\s+120\s+\+20$/m);
    expect(text).toMatch(/^tokens\s+220\s+320\s+\+100$/m);
    expect(text).toContain('model openai:m');
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('with a model missing from the price table, tokens are given but cost is n/a', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-compare-'));
  try {
    const client = fakeClient(dataDir);
    const run = client.runEvaluation.bind(client);
    const unpriced = {
      runEvaluation: async (input: EvaluateTenantInput) => {
        const r = await run(input);
        await UsageLedger.inDataDir(dataDir).record({
          tenantId: input.tenantId,
          kind: 'chat',
          model: 'unknown-model',
          tokens: { embedding: 0, prompt: 10, completion: 1 },
          latencyMs: 1,
          costUsd: 0,
          priced: false,
          workflowType: 'evaluateTenant',
        });
        return r;
      },
    };
    const c = await comparePromptVersions(unpriced, {
      tenantId: 'acme',
      golden,
      promptVersions: ['v1', 'v2'],
      dataDir,
    });
    expect(c.runs[0]!.metrics.tokens).toBe(231);
    expect(c.runs[0]!.metrics.costUsd).toBeNull();
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('without a shared ledger, tokens and cost are n/a; drafts without a prompt version are warned about', async () => {
  const client = {
    runEvaluation: async (input: EvaluateTenantInput) =>
      report({ accuracy: 1, notFound: 1, ...(input.promptVersion === 'v2' ? { promptVersion: 'v1' } : {}) }),
  };
  const c = await comparePromptVersions(client, { tenantId: 'acme', golden, promptVersions: ['v1', 'v2'] });
  expect(c.runs[0]!.metrics.tokens).toBeNull();
  expect(c.differences[0]!.delta.costUsd).toBeNull();
  expect(c.warnings).toEqual([
    expect.stringContaining('made no difference'),
    expect.stringContaining('recorded prompt v1'),
  ]);
  expect(formatComparison(c)).toMatch(/^tokens\s+n\/a\s+n\/a\s+n\/a$/m);
});

test('run stats add up across pages and the median latency is the middle value', () => {
  const a = { servedWrong: 1, latenciesMs: [30, 10], promptVersions: ['v1'], models: ['openai:m'] };
  const b = { servedWrong: 2, latenciesMs: [20], promptVersions: ['v1'], models: ['extractive'] };
  expect(addRunStats(a, b)).toEqual({
    servedWrong: 3,
    latenciesMs: [30, 10, 20],
    promptVersions: ['v1'],
    models: ['openai:m', 'extractive'],
  });
  expect(addRunStats(undefined, a)).toEqual(a);
  expect(medianMs([30, 10, 20])).toBe(20);
  expect(medianMs([40, 10, 20, 30])).toBe(25);
  expect(medianMs([])).toBeNull();
});
