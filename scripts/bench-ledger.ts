// `npm run bench:ledger -- [--entries N] [--json]`: the cost ledger's costs on this disk, in a scratch data dir: N
// appends one after another and N at once (each fsync'd), then a month of 10,000 entries: the first (cold) month
// total, the budget check before each model call (cached), and a summary over them all.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BudgetStore, UsageLedger, monthOf } from '../activities/ledger';
import type { UsageEntryInput } from '../activities/ledger';

/** `--json`: one JSON object; otherwise one figure per line. */
function report(figures: Record<string, unknown>): void {
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(24)} ${String(v)}\n`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--entries');
  const n = i > 0 ? Number(process.argv[i + 1]) : 500;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-ledger-bench-'));
  try {
    const ledger = UsageLedger.inDataDir(dir);
    const budgets = BudgetStore.inDataDir(dir, { acme: 100 });
    const entry: UsageEntryInput = {
      tenantId: 'acme',
      kind: 'chat',
      model: 'gpt-4o-mini',
      tokens: { embedding: 0, prompt: 2000, completion: 300 },
      latencyMs: 900,
      costUsd: 0.00048,
      priced: true,
      workflowId: 'answer:acme:how-many-vacation-days-0123abcd',
      workflowType: 'answerQuestion',
      activityType: 'generateDraft',
    };
    let t = performance.now();
    for (let k = 0; k < n; k++) await ledger.record(entry);
    const sequentialMs = (performance.now() - t) / n;
    t = performance.now();
    await Promise.all(Array.from({ length: n }, () => ledger.record(entry)));
    const concurrentMs = (performance.now() - t) / n;

    const file = path.join(dir, 'usage', 'acme', `${monthOf(new Date())}.jsonl`);
    const fill = Math.max(0, 10_000 - 2 * n);
    const line = `${JSON.stringify({ ...entry, at: new Date().toISOString() })}\n`;
    await fs.appendFile(file, line.repeat(fill));
    const cold = new UsageLedger(path.join(dir, 'usage'));
    t = performance.now();
    await cold.monthSpendUsd('acme');
    const coldTotalMs = performance.now() - t;
    t = performance.now();
    for (let k = 0; k < 1000; k++) await budgets.status('acme');
    const budgetCheckMs = (performance.now() - t) / 1000;
    const now = new Date();
    t = performance.now();
    const summary = await ledger.summary('acme', {
      from: new Date(now.getTime() - 86_400_000),
      to: new Date(now.getTime() + 1000),
    });
    const summaryMs = performance.now() - t;
    const bytes = (await fs.stat(file)).size;
    const r = (x: number, d = 2) => Number(x.toFixed(d));
    report({
      appendSequentialMs: r(sequentialMs),
      appendConcurrentMs: r(concurrentMs),
      entries: summary.calls,
      bytesPerEntry: Math.round(bytes / summary.calls),
      coldMonthTotalMs: r(coldTotalMs, 1),
      budgetCheckMs: r(budgetCheckMs, 3),
      summaryMs: r(summaryMs, 1),
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

void main();
