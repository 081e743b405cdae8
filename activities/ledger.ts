// The cost ledger and the per-tenant monthly budgets. Every model call is one line of
// <dataDir>/usage/<tenant>/<yyyy-mm>.jsonl (append-only, fsync'd, UTC months): tenant, kind, model, tokens, latency,
// cost and the workflow and activity it was for. Lines hold ids, numbers and model names only, never tenant text.
// The month's total is kept in memory per file and refreshed by reading only the bytes appended since (by this
// process or another), so the budget check before each model call costs a stat.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GroundworkError } from '../common/errors';
import { TENANT_ID_PATTERN } from '../common/ids';

export type UsageKind = 'embedding' | 'chat';

export interface UsageTokens {
  embedding: number;
  prompt: number;
  completion: number;
}

export interface UsageEntry {
  /** ISO time of the call's end. */
  at: string;
  tenantId: string;
  kind: UsageKind;
  model: string;
  tokens: UsageTokens;
  latencyMs: number;
  costUsd: number;
  /** False when the model is not in the price table: its cost is recorded as 0. */
  priced: boolean;
  /** What the call was for: the workflow run and the activity (absent outside an activity). */
  workflowId?: string;
  /** The run of the workflow: the same question asked again (or a document re-ingested) is another run. */
  runId?: string;
  workflowType?: string;
  activityType?: string;
}

export type UsageEntryInput = Omit<UsageEntry, 'at'> & { at?: string };

export interface ModelUsageSummary {
  calls: number;
  tokens: UsageTokens;
  costUsd: number;
  priced: boolean;
}

export interface UsageSummary {
  from: string;
  to: string;
  calls: number;
  tokens: UsageTokens;
  costUsd: number;
  byModel: Record<string, ModelUsageSummary>;
  /** Answer runs (workflow type answerQuestion; distinct workflow id and run) with model calls in the period. */
  answers: number;
  /** Ingestion runs (workflow type ingestDocument; distinct workflow id and run) with model calls in the period. */
  ingestions: number;
  /** Cost of the answer runs divided by their number; null without answers. */
  costPerAnswerUsd: number | null;
}

export const ANSWER_WORKFLOW_TYPE = 'answerQuestion';
export const INGEST_WORKFLOW_TYPE = 'ingestDocument';

export class UsageError extends GroundworkError {
  override readonly name = 'UsageError';
}

/** Refused before a model call: the tenant has spent its monthly budget. Not retryable (the month must turn, or the budget grow). */
export class BudgetExceededError extends GroundworkError {
  override readonly name = 'BudgetExceededError';
  constructor(
    message = "The tenant's monthly model budget is spent; no new model calls are made until it is raised or the month ends.",
  ) {
    super('BUDGET_EXCEEDED', message);
  }
}

function checkTenant(tenantId: string): string {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new UsageError('INVALID_TENANT', 'The tenant id is not valid.');
  return tenantId;
}

/** yyyy-mm of a time, in UTC. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The first instant of the UTC month of `at`, and of the month after. */
export function monthBounds(at: Date): { from: Date; to: Date } {
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { from, to };
}

/** Months (yyyy-mm) overlapping [from, to). */
function monthsBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  let cursor = monthBounds(from).from;
  while (cursor < to) {
    out.push(monthOf(cursor));
    cursor = monthBounds(cursor).to;
  }
  return out;
}

const zeroTokens = (): UsageTokens => ({ embedding: 0, prompt: 0, completion: 0 });
const addTokens = (a: UsageTokens, b: UsageTokens): void => {
  a.embedding += b.embedding;
  a.prompt += b.prompt;
  a.completion += b.completion;
};
/** Dollars to nano-dollars and back: sums of tiny float costs stay readable. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e9) / 1e9;

function parseLine(line: string): UsageEntry | undefined {
  if (!line.trim()) return undefined;
  try {
    const e = JSON.parse(line) as UsageEntry;
    return typeof e.at === 'string' && typeof e.costUsd === 'number' && e.tokens ? e : undefined;
  } catch {
    return undefined; // a torn last line (a crash mid-append) is skipped, never fatal
  }
}

interface MonthTotal {
  ino: number;
  /** Bytes read so far: always at a line boundary. */
  offset: number;
  costUsd: number;
}

export class UsageLedger {
  private static readonly byDir = new Map<string, UsageLedger>();
  /** One chain per file: appends and total refreshes of a file never interleave within the process. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly totals = new Map<string, MonthTotal>();

  constructor(private readonly root: string) {}

  /** The ledger of a data dir; one instance per dir and process, so the per-file write order holds. */
  static inDataDir(dataDir: string): UsageLedger {
    const root = path.join(path.resolve(dataDir), 'usage');
    let l = UsageLedger.byDir.get(root);
    if (!l) {
      l = new UsageLedger(root);
      UsageLedger.byDir.set(root, l);
    }
    return l;
  }

  tenantDir(tenantId: string): string {
    return path.join(this.root, checkTenant(tenantId));
  }

  private file(tenantId: string, month: string): string {
    return path.join(this.tenantDir(tenantId), `${month}.jsonl`);
  }

  private locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    this.queues.set(file, run);
    void run
      .finally(() => {
        if (this.queues.get(file) === run) this.queues.delete(file);
      })
      .catch(() => undefined);
    return run;
  }

  /** Appends one entry (one write of one line, fsync'd) to its tenant's month file. */
  async record(input: UsageEntryInput): Promise<UsageEntry> {
    const entry: UsageEntry = { ...input, at: input.at ?? new Date().toISOString() };
    const at = new Date(entry.at);
    if (Number.isNaN(at.getTime())) throw new UsageError('INVALID_INPUT', 'The usage time is not a valid date.');
    const file = this.file(entry.tenantId, monthOf(at));
    const line = `${JSON.stringify(entry)}\n`;
    await this.locked(file, async () => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const fh = await fs.open(file, 'a');
      try {
        await fh.write(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    return entry;
  }

  /** Spend of the tenant's UTC month containing `at` (default now), in USD: cached, reading only new lines. */
  async monthSpendUsd(tenantId: string, at: Date = new Date()): Promise<number> {
    const file = this.file(tenantId, monthOf(at));
    return this.locked(file, async () => {
      let st;
      try {
        st = await fs.stat(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          this.totals.delete(file);
          return 0;
        }
        throw err;
      }
      let t = this.totals.get(file);
      if (!t || t.ino !== st.ino || st.size < t.offset) t = { ino: st.ino, offset: 0, costUsd: 0 };
      if (st.size > t.offset) {
        const fh = await fs.open(file, 'r');
        try {
          const buf = Buffer.alloc(st.size - t.offset);
          const { bytesRead } = await fh.read(buf, 0, buf.length, t.offset);
          const end = buf.lastIndexOf(0x0a, bytesRead - 1);
          if (end >= 0) {
            for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
              const e = parseLine(line);
              if (e) t.costUsd += e.costUsd;
            }
            t.offset += end + 1;
          }
        } finally {
          await fh.close();
        }
      }
      this.totals.set(file, t);
      return roundUsd(t.costUsd);
    });
  }

  private async readMonth(tenantId: string, month: string): Promise<UsageEntry[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file(tenantId, month), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: UsageEntry[] = [];
    for (const line of text.split('\n')) {
      const e = parseLine(line);
      if (e) out.push(e);
    }
    return out;
  }

  /** Entries of [from, to), oldest first. */
  async between(tenantId: string, range: { from: Date; to: Date }): Promise<UsageEntry[]> {
    checkRange(range);
    const out: UsageEntry[] = [];
    for (const month of monthsBetween(range.from, range.to)) {
      for (const e of await this.readMonth(tenantId, month)) {
        const t = Date.parse(e.at);
        if (t >= range.from.getTime() && t < range.to.getTime()) out.push(e);
      }
    }
    return out;
  }

  /** Totals of [from, to): calls, tokens, cost, by model, and the answer and ingestion runs they were for. */
  async summary(tenantId: string, range: { from: Date; to: Date }): Promise<UsageSummary> {
    const entries = await this.between(tenantId, range);
    const tokens = zeroTokens();
    const byModel: Record<string, ModelUsageSummary> = {};
    const answers = new Set<string>();
    const ingestions = new Set<string>();
    let costUsd = 0;
    let answerCostUsd = 0;
    for (const e of entries) {
      addTokens(tokens, e.tokens);
      costUsd += e.costUsd;
      const m = (byModel[e.model] ??= { calls: 0, tokens: zeroTokens(), costUsd: 0, priced: e.priced });
      m.calls += 1;
      addTokens(m.tokens, e.tokens);
      m.costUsd += e.costUsd;
      m.priced &&= e.priced;
      const run = e.workflowId && `${e.workflowId}/${e.runId ?? ''}`;
      if (run && e.workflowType === ANSWER_WORKFLOW_TYPE) {
        answers.add(run);
        answerCostUsd += e.costUsd;
      }
      if (run && e.workflowType === INGEST_WORKFLOW_TYPE) ingestions.add(run);
    }
    for (const m of Object.values(byModel)) m.costUsd = roundUsd(m.costUsd);
    return {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      calls: entries.length,
      tokens,
      costUsd: roundUsd(costUsd),
      byModel,
      answers: answers.size,
      ingestions: ingestions.size,
      costPerAnswerUsd: answers.size ? roundUsd(answerCostUsd / answers.size) : null,
    };
  }

  /** The calls of one run (an answer, an ingestion), oldest first; `from`/`to` bound the months read (default: all). */
  async entries(tenantId: string, filter: { workflowId: string; from?: Date; to?: Date }): Promise<UsageEntry[]> {
    let months: string[];
    if (filter.from && filter.to) months = monthsBetween(filter.from, filter.to);
    else {
      const names = await fs.readdir(this.tenantDir(tenantId)).catch(() => [] as string[]);
      months = names
        .filter((n) => /^\d{4}-\d{2}\.jsonl$/.test(n))
        .map((n) => n.slice(0, 7))
        .sort();
    }
    const out: UsageEntry[] = [];
    for (const month of months)
      for (const e of await this.readMonth(tenantId, month)) if (e.workflowId === filter.workflowId) out.push(e);
    return out;
  }
}

function checkRange(range: { from: Date; to: Date }): void {
  if (Number.isNaN(range.from.getTime()) || Number.isNaN(range.to.getTime()))
    throw new UsageError('INVALID_INPUT', 'The usage period needs valid from and to dates.');
  if (range.from >= range.to) throw new UsageError('INVALID_INPUT', 'The usage period must end after it starts.');
  if (range.to.getTime() - range.from.getTime() > 400 * 24 * 3600 * 1000)
    throw new UsageError('INVALID_INPUT', 'The usage period may span at most 400 days.');
}

// ---------- budgets ----------

export type BudgetState = 'ok' | 'warning' | 'exceeded';

export interface BudgetStatus {
  usd: number;
  spentUsd: number;
  state: BudgetState;
  /** Where the budget comes from: set through the API or CLI, or GROUNDWORK_TENANT_BUDGETS. */
  source: 'set' | 'default';
}

/** At this share of the month's budget the tenant is warned. */
export const BUDGET_WARNING_SHARE = 0.8;

export function budgetState(usd: number, spentUsd: number): BudgetState {
  if (spentUsd >= usd) return 'exceeded';
  if (spentUsd >= usd * BUDGET_WARNING_SHARE) return 'warning';
  return 'ok';
}

interface StoredBudget {
  usd: number;
  updatedAt: string;
}

/**
 * Monthly budgets in USD per tenant: <dataDir>/usage/<tenant>/budget.json (written whole, by rename), over the
 * defaults of GROUNDWORK_TENANT_BUDGETS. A tenant with neither has no budget.
 */
export class BudgetStore {
  private readonly cache = new Map<string, { mtimeMs: number; budget: StoredBudget }>();

  constructor(
    private readonly ledger: UsageLedger,
    private readonly defaults: Record<string, number> = {},
  ) {}

  static inDataDir(dataDir: string, defaults: Record<string, number> = {}): BudgetStore {
    return new BudgetStore(UsageLedger.inDataDir(dataDir), defaults);
  }

  private file(tenantId: string): string {
    return path.join(this.ledger.tenantDir(tenantId), 'budget.json');
  }

  private async stored(tenantId: string): Promise<StoredBudget | undefined> {
    const file = this.file(tenantId);
    let mtimeMs: number;
    try {
      mtimeMs = (await fs.stat(file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const hit = this.cache.get(tenantId);
    if (hit && hit.mtimeMs === mtimeMs) return hit.budget;
    const budget = JSON.parse(await fs.readFile(file, 'utf8')) as StoredBudget;
    this.cache.set(tenantId, { mtimeMs, budget });
    return budget;
  }

  /** The tenant's monthly budget, if it has one. */
  async get(tenantId: string): Promise<{ usd: number; source: 'set' | 'default' } | undefined> {
    const own = await this.stored(tenantId);
    if (own) return { usd: own.usd, source: 'set' };
    const d = this.defaults[checkTenant(tenantId)];
    return d === undefined ? undefined : { usd: d, source: 'default' };
  }

  async set(tenantId: string, usd: number): Promise<{ usd: number; previousUsd?: number }> {
    if (!Number.isFinite(usd) || usd < 0 || usd > 1e9)
      throw new UsageError('INVALID_INPUT', 'The budget must be a number of US dollars from 0 to 1,000,000,000.');
    const previous = await this.get(tenantId);
    const file = this.file(tenantId);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify({ usd, updatedAt: new Date().toISOString() } satisfies StoredBudget));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
    this.cache.delete(tenantId);
    return { usd, ...(previous ? { previousUsd: previous.usd } : {}) };
  }

  /** The budget, this month's spend and its state; undefined without a budget. */
  async status(tenantId: string, at: Date = new Date()): Promise<BudgetStatus | undefined> {
    const budget = await this.get(tenantId);
    if (!budget) return undefined;
    const spentUsd = await this.ledger.monthSpendUsd(tenantId, at);
    return { usd: budget.usd, spentUsd, state: budgetState(budget.usd, spentUsd), source: budget.source };
  }

  /**
   * True once per tenant and month (across processes and restarts: a marker file created exclusively), the first
   * time the month's spend reaches the warning share: the caller logs one line.
   */
  async firstWarning(tenantId: string, at: Date = new Date()): Promise<boolean> {
    const marker = path.join(this.ledger.tenantDir(tenantId), `${monthOf(at)}.warned`);
    try {
      await fs.mkdir(path.dirname(marker), { recursive: true });
      await fs.writeFile(marker, new Date().toISOString(), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }
}

/** Throws BUDGET_EXCEEDED when the tenant has spent its month's budget. The one check the HTTP ask and the models share. */
export async function assertWithinBudget(budgets: BudgetStore, tenantId: string, at: Date = new Date()): Promise<void> {
  const status = await budgets.status(tenantId, at);
  if (status?.state === 'exceeded') throw new BudgetExceededError();
}

/** What GET /usage and `groundwork usage` show: the period's summary and, with a budget, this month's state. */
export interface UsageReport extends UsageSummary {
  tenantId: string;
  budget?: BudgetStatus;
}

export async function usageReport(
  dataDir: string,
  defaultBudgets: Record<string, number>,
  tenantId: string,
  range: { from: Date; to: Date },
  now: Date = new Date(),
): Promise<UsageReport> {
  const ledger = UsageLedger.inDataDir(dataDir);
  const summary = await ledger.summary(tenantId, range);
  const budget = await new BudgetStore(ledger, defaultBudgets).status(tenantId, now);
  return { tenantId, ...summary, ...(budget ? { budget } : {}) };
}
