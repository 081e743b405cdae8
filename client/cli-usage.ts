// `groundwork usage` and `groundwork budget set|show`: the cost ledger and the monthly budgets of
// GROUNDWORK_DATA_DIR, read and written directly (like `keys`), as an operator.
import type { Command } from 'commander';
import { AuditLog, operatorActor } from '../common/audit';
import { durationToMs, loadConfig } from '../common/config';
import { BudgetStore, UsageLedger, monthBounds, usageReport } from '../activities/ledger';
import type { BudgetStatus, UsageEntry, UsageReport } from '../activities/ledger';
import { ClientInputError } from './groundwork-client';

type Print = (value: unknown, text: () => string) => void;

const usd = (n: number): string => `$${n < 0.01 && n > 0 ? n.toPrecision(3) : n.toFixed(n >= 100 ? 2 : 4)}`;

function describeBudget(tenantId: string, b: BudgetStatus): string {
  return `${tenantId}: ${usd(b.spentUsd)} of ${usd(b.usd)} this month (${b.state}, ${b.source === 'set' ? 'set' : 'GROUNDWORK_TENANT_BUDGETS'})`;
}

function describeUsage(r: UsageReport): string {
  const lines = [
    `${r.tenantId}  ${r.from} → ${r.to}`,
    `  calls ${r.calls}  cost ${usd(r.costUsd)}  answers ${r.answers}  ingestions ${r.ingestions}` +
      (r.costPerAnswerUsd === null ? '' : `  per answer ${usd(r.costPerAnswerUsd)}`),
    `  tokens: embedding ${r.tokens.embedding}  prompt ${r.tokens.prompt}  completion ${r.tokens.completion}`,
    ...Object.entries(r.byModel).map(
      ([model, m]) =>
        `  ${model}: ${m.calls} calls, ${m.tokens.embedding + m.tokens.prompt + m.tokens.completion} tokens, ${usd(m.costUsd)}${m.priced ? '' : ' (not priced)'}`,
    ),
  ];
  if (r.budget) lines.push(`  budget: ${describeBudget(r.tenantId, r.budget)}`);
  return lines.join('\n');
}

function describeCall(e: UsageEntry): string {
  const t = e.tokens;
  const tokens =
    e.kind === 'embedding' ? `${t.embedding} tokens` : `${t.prompt} prompt + ${t.completion} completion tokens`;
  return `${e.at}  ${e.activityType ?? '-'}  ${e.kind} ${e.model}  ${tokens}  ${e.latencyMs} ms  ${usd(e.costUsd)}${e.priced ? '' : ' (not priced)'}`;
}

/** `--since 7d`: the last 7 days up to now; unset: the current UTC month. */
export function sincePeriod(since: string | undefined, now = new Date()): { from: Date; to: Date } {
  if (!since) return monthBounds(now);
  if (!/^\d+(ms|s|m|h|d)$/.test(since))
    throw new ClientInputError('INVALID_INPUT', '--since must be a duration such as 24h, 7d or 30d.');
  return { from: new Date(now.getTime() - durationToMs(since)), to: new Date(now.getTime() + 1) };
}

function parseUsd(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new ClientInputError('INVALID_INPUT', '--usd must be a number of US dollars, 0 or more.');
  return n;
}

export function addUsageCommands(program: Command, print: Print): void {
  program
    .command('usage')
    .description("a tenant's model calls, tokens and cost (the cost ledger in <GROUNDWORK_DATA_DIR>/usage)")
    .requiredOption('--tenant <tenant>', 'tenant id')
    .option('--since <duration>', 'the last 24h, 7d, 30d...; default: the current UTC month')
    .option('--workflow <workflowId>', "list one run's model calls instead (an answer, an ingestion)")
    .action(async (opts: { tenant: string; since?: string; workflow?: string }) => {
      const config = loadConfig();
      if (opts.workflow) {
        const calls = await UsageLedger.inDataDir(config.dataDir).entries(opts.tenant, { workflowId: opts.workflow });
        print(calls, () =>
          calls.length ? calls.map(describeCall).join('\n') : 'no model calls recorded for this run',
        );
        return;
      }
      const report = await usageReport(
        config.dataDir,
        config.usage.tenantBudgets,
        opts.tenant,
        sincePeriod(opts.since),
      );
      print(report, () => describeUsage(report));
    });
  const budget = program.command('budget').description("a tenant's monthly model budget in US dollars");
  const store = () => {
    const config = loadConfig();
    return { config, budgets: BudgetStore.inDataDir(config.dataDir, config.usage.tenantBudgets) };
  };
  budget
    .command('set')
    .description('set the monthly budget (audited); at 100% new asks and model calls are refused')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--usd <amount>', 'monthly budget in US dollars')
    .action(async (opts: { tenant: string; usd: string }) => {
      const { config, budgets } = store();
      const amount = parseUsd(opts.usd);
      const { previousUsd } = await budgets.set(opts.tenant, amount);
      await AuditLog.forDataDir(config.dataDir).append({
        tenantId: opts.tenant,
        actor: operatorActor(),
        action: 'budget.set',
        target: { kind: 'budget', id: opts.tenant },
        details: { usd: amount, ...(previousUsd !== undefined ? { previousUsd } : {}), via: 'cli' },
      });
      const status = (await budgets.status(opts.tenant))!;
      print({ tenantId: opts.tenant, ...status }, () => describeBudget(opts.tenant, status));
    });
  budget
    .command('show')
    .description("the monthly budget and this month's spend")
    .requiredOption('--tenant <tenant>', 'tenant id')
    .action(async (opts: { tenant: string }) => {
      const status = await store().budgets.status(opts.tenant);
      print(status ? { tenantId: opts.tenant, ...status } : { tenantId: opts.tenant, budget: null }, () =>
        status ? describeBudget(opts.tenant, status) : `${opts.tenant}: no budget`,
      );
    });
}
