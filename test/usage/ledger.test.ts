// The cost ledger and budgets on a temp dir: appends across months, concurrent appends, the cached month total,
// summaries by workflow type, budget states, and the price table with its configuration errors.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BudgetExceededError,
  BudgetStore,
  UsageLedger,
  assertWithinBudget,
  budgetState,
} from '../../activities/ledger';
import type { UsageEntryInput } from '../../activities/ledger';
import { DEFAULT_PRICES, costOf, priceTable } from '../../activities/models/metered';
import { ConfigError, loadConfig } from '../../common/config';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-ledger-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const entry = (over: Partial<UsageEntryInput> = {}): UsageEntryInput => ({
  tenantId: 'acme',
  kind: 'chat',
  model: 'gpt-4o-mini',
  tokens: { embedding: 0, prompt: 100, completion: 20 },
  latencyMs: 5,
  costUsd: 0.001,
  priced: true,
  ...over,
});

describe('the price table', () => {
  test('prices chat and embedding tokens per 1M, and an unknown model costs 0 unpriced', () => {
    const prices = priceTable();
    expect(costOf(prices, 'gpt-4o-mini', { embedding: 0, prompt: 1_000_000, completion: 1_000_000 })).toEqual({
      costUsd: 0.75,
      priced: true,
    });
    expect(costOf(prices, 'text-embedding-3-small', { embedding: 500_000, prompt: 0, completion: 0 })).toEqual({
      costUsd: 0.01,
      priced: true,
    });
    expect(costOf(prices, 'my-own-model', { embedding: 0, prompt: 1000, completion: 1000 })).toEqual({
      costUsd: 0,
      priced: false,
    });
    // Inherited object keys are not models.
    expect(costOf(prices, 'constructor', { embedding: 0, prompt: 1000, completion: 0 }).priced).toBe(false);
  });

  test('GROUNDWORK_PRICES overrides the defaults field by field and adds models', () => {
    const config = loadConfig({
      GROUNDWORK_PRICES: '{"gpt-4o-mini":{"input":1},"local-llm":{"input":0.5,"output":2}}',
    });
    const prices = priceTable(config.usage.prices);
    expect(prices['gpt-4o-mini']).toEqual({ input: 1, output: DEFAULT_PRICES['gpt-4o-mini']!.output });
    expect(costOf(prices, 'local-llm', { embedding: 0, prompt: 2_000_000, completion: 1_000_000 }).costUsd).toBe(3);
  });

  test.each([
    ['not json', 'GROUNDWORK_PRICES'],
    ['{"gpt-4o":{"input":-1}}', 'GROUNDWORK_PRICES'],
    ['{"gpt-4o":{"inptu":1}}', 'GROUNDWORK_PRICES'],
    ['["gpt-4o"]', 'GROUNDWORK_PRICES'],
  ])('GROUNDWORK_PRICES=%s is a typed configuration error naming the variable', (value, name) => {
    let err: unknown;
    try {
      loadConfig({ GROUNDWORK_PRICES: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toContain(name);
  });

  test('GROUNDWORK_TENANT_BUDGETS is parsed, and a bad value is a configuration error', () => {
    expect(loadConfig({ GROUNDWORK_TENANT_BUDGETS: 'acme=100, beta=0.5' }).usage.tenantBudgets).toEqual({
      acme: 100,
      beta: 0.5,
    });
    expect(() => loadConfig({ GROUNDWORK_TENANT_BUDGETS: 'acme=-1' })).toThrow(/GROUNDWORK_TENANT_BUDGETS/);
    expect(() => loadConfig({ GROUNDWORK_TENANT_BUDGETS: 'acme=lots' })).toThrow(ConfigError);
  });
});

describe('the ledger', () => {
  test('appends to one file per tenant and UTC month and summarizes a period across months', async () => {
    const ledger = new UsageLedger(path.join(dir, 'usage'));
    await ledger.record(
      entry({ at: '2026-01-31T23:59:59.000Z', workflowId: 'answer:acme:1', workflowType: 'answerQuestion' }),
    );
    await ledger.record(
      entry({ at: '2026-02-01T00:00:00.000Z', workflowId: 'answer:acme:1', workflowType: 'answerQuestion' }),
    );
    await ledger.record(
      entry({
        at: '2026-02-02T00:00:00.000Z',
        kind: 'embedding',
        model: 'text-embedding-3-small',
        tokens: { embedding: 1000, prompt: 0, completion: 0 },
        costUsd: 0.00002,
        workflowId: 'ingest:acme:doc',
        workflowType: 'ingestDocument',
      }),
    );
    await ledger.record(
      entry({
        at: '2026-02-03T00:00:00.000Z',
        workflowId: 'answer:acme:2',
        workflowType: 'answerQuestion',
        costUsd: 0.003,
      }),
    );
    await ledger.record(entry({ tenantId: 'other', at: '2026-02-03T00:00:00.000Z' }));
    expect((await fs.readdir(path.join(dir, 'usage', 'acme'))).sort()).toEqual(['2026-01.jsonl', '2026-02.jsonl']);

    const all = await ledger.summary('acme', { from: new Date('2026-01-01'), to: new Date('2026-03-01') });
    expect(all.calls).toBe(4);
    expect(all.tokens).toEqual({ embedding: 1000, prompt: 300, completion: 60 });
    expect(all.costUsd).toBeCloseTo(0.00502, 9);
    expect(all.answers).toBe(2);
    expect(all.ingestions).toBe(1);
    // (0.001 + 0.001 + 0.003) over two answers
    expect(all.costPerAnswerUsd).toBeCloseTo(0.0025, 9);
    expect(all.byModel['text-embedding-3-small']).toEqual({
      calls: 1,
      tokens: { embedding: 1000, prompt: 0, completion: 0 },
      costUsd: 0.00002,
      priced: true,
    });

    // The same question asked again is another run of the same workflow id: another answer.
    await ledger.record(
      entry({
        at: '2026-02-04T00:00:00.000Z',
        workflowId: 'answer:acme:2',
        runId: 'second',
        workflowType: 'answerQuestion',
        costUsd: 0,
      }),
    );
    expect((await ledger.summary('acme', { from: new Date('2026-02-01'), to: new Date('2026-03-01') })).answers).toBe(
      3,
    );

    const feb = await ledger.summary('acme', { from: new Date('2026-02-01'), to: new Date('2026-02-03') });
    expect(feb.calls).toBe(2);
    expect(feb.answers).toBe(1);
    expect((await ledger.entries('acme', { workflowId: 'answer:acme:1' })).map((e) => e.at)).toEqual([
      '2026-01-31T23:59:59.000Z',
      '2026-02-01T00:00:00.000Z',
    ]);
    const none = await ledger.summary('acme', { from: new Date('2025-01-01'), to: new Date('2025-02-01') });
    expect([none.calls, none.costPerAnswerUsd]).toEqual([0, null]);
  });

  test('concurrent appends in one process never interleave, and every line survives a new ledger (a restart)', async () => {
    const ledger = new UsageLedger(path.join(dir, 'usage'));
    const n = 300;
    // Long model names make lines bigger than one small write.
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        ledger.record(entry({ at: '2026-03-10T00:00:00.000Z', model: `m${i % 7}-${'x'.repeat(2000)}`, costUsd: 0.01 })),
      ),
    );
    const text = await fs.readFile(path.join(dir, 'usage', 'acme', '2026-03.jsonl'), 'utf8');
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(n);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const restarted = new UsageLedger(path.join(dir, 'usage'));
    expect(await restarted.monthSpendUsd('acme', new Date('2026-03-15'))).toBeCloseTo(3, 9);
  });

  test("the month's total follows appends by this process and by another one, reading only new lines", async () => {
    const root = path.join(dir, 'usage');
    const a = new UsageLedger(root);
    const b = new UsageLedger(root); // another process sharing the data dir
    const march = new Date('2026-03-15');
    expect(await a.monthSpendUsd('acme', march)).toBe(0);
    await a.record(entry({ at: '2026-03-01T00:00:00.000Z', costUsd: 0.5 }));
    expect(await a.monthSpendUsd('acme', march)).toBe(0.5);
    await b.record(entry({ at: '2026-03-02T00:00:00.000Z', costUsd: 0.25 }));
    expect(await a.monthSpendUsd('acme', march)).toBe(0.75);
    // Another month does not count.
    await b.record(entry({ at: '2026-04-01T00:00:00.000Z', costUsd: 9 }));
    expect(await a.monthSpendUsd('acme', march)).toBe(0.75);
    // A torn last line (a crash mid-append) is not counted until it is complete.
    await fs.appendFile(path.join(root, 'acme', '2026-03.jsonl'), '{"at":"2026-03-03T00:00:00.000Z","costUsd":1,');
    expect(await a.monthSpendUsd('acme', march)).toBe(0.75);
  });

  test('a tenant id that is not an id is refused with a typed error', async () => {
    const ledger = new UsageLedger(path.join(dir, 'usage'));
    await expect(ledger.record(entry({ tenantId: '../etc' }))).rejects.toMatchObject({ code: 'INVALID_TENANT' });
    await expect(
      ledger.summary('acme', { from: new Date('2026-02-01'), to: new Date('2026-01-01') }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });
});

describe('budgets', () => {
  test('states: ok below 80%, warning from 80%, exceeded at 100%; a budget of 0 is exceeded at once', () => {
    expect(budgetState(10, 7.99)).toBe('ok');
    expect(budgetState(10, 8)).toBe('warning');
    expect(budgetState(10, 9.99)).toBe('warning');
    expect(budgetState(10, 10)).toBe('exceeded');
    expect(budgetState(0, 0)).toBe('exceeded');
  });

  test('a set budget overrides the default, survives a new store, and the spend decides the state', async () => {
    const now = new Date();
    const budgets = BudgetStore.inDataDir(dir, { acme: 100, beta: 1 });
    expect(await budgets.get('acme')).toEqual({ usd: 100, source: 'default' });
    expect(await budgets.get('gamma')).toBeUndefined();
    expect(await budgets.set('acme', 2)).toEqual({ usd: 2, previousUsd: 100 });
    expect(await BudgetStore.inDataDir(dir, { acme: 100 }).get('acme')).toEqual({ usd: 2, source: 'set' });
    await expect(budgets.set('acme', -1)).rejects.toMatchObject({ code: 'INVALID_INPUT' });

    const ledger = UsageLedger.inDataDir(dir);
    await ledger.record(entry({ at: now.toISOString(), costUsd: 1.5 }));
    expect(await budgets.status('acme', now)).toEqual({ usd: 2, spentUsd: 1.5, state: 'ok', source: 'set' });
    await ledger.record(entry({ at: now.toISOString(), costUsd: 0.1 }));
    expect((await budgets.status('acme', now))?.state).toBe('warning');
    await assertWithinBudget(budgets, 'acme', now);
    await ledger.record(entry({ at: now.toISOString(), costUsd: 0.4 }));
    expect((await budgets.status('acme', now))?.state).toBe('exceeded');
    await expect(assertWithinBudget(budgets, 'acme', now)).rejects.toBeInstanceOf(BudgetExceededError);
    await expect(assertWithinBudget(budgets, 'acme', now)).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
      retryable: false,
    });
    // Raising the budget lets calls through again.
    await budgets.set('acme', 10);
    await assertWithinBudget(budgets, 'acme', now);
    // Without a budget nothing is refused.
    await assertWithinBudget(budgets, 'gamma', now);
  });

  test('the warning is due once per tenant and month, across stores', async () => {
    const at = new Date('2026-05-10');
    expect(await BudgetStore.inDataDir(dir).firstWarning('acme', at)).toBe(true);
    expect(await BudgetStore.inDataDir(dir).firstWarning('acme', at)).toBe(false);
    expect(await BudgetStore.inDataDir(dir).firstWarning('beta', at)).toBe(true);
    expect(await BudgetStore.inDataDir(dir).firstWarning('acme', new Date('2026-06-01'))).toBe(true);
  });
});
