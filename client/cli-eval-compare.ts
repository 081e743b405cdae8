// `groundwork eval compare`: the tenant's golden set evaluated once per prompt version, through the evaluation
// workflow on the running workers (the real answering path), and the metrics side by side with their differences.
// Runs with a prompt version of their own are experiments: they record no calibration labels and never become the
// baseline (workflows/evaluate.ts). Rolling back a prompt is pinning the older version: GROUNDWORK_PROMPT_VERSION.
import type { Command, Option } from 'commander';
import { UsageLedger } from '../activities/ledger';
import type { UsageEntry } from '../activities/ledger';
import { PROMPT_VERSION_PATTERN, UnknownPromptVersionError, promptVersions } from '../activities/models/prompts';
import type { Config } from '../common/config';
import type { EvaluationReport, GoldenQuestion } from '../workflows/definitions';
import { ClientInputError } from './groundwork-client';
import type { GroundworkClient } from './groundwork-client';

type Print = (value: unknown, text: () => string) => void;

/** The evaluation workflow's type, as the cost ledger records it for the model calls made on its behalf. */
const EVALUATION_WORKFLOW_TYPE = 'evaluateTenant';

/** What is compared, in display order: higher is better unless `lowerIsBetter`. */
export const COMPARED_METRICS = [
  { key: 'accuracy', title: 'accuracy', digits: 3 },
  { key: 'notFoundAccuracy', title: 'not-found accuracy', digits: 3 },
  { key: 'servedWrongRate', title: 'served wrong', digits: 3, lowerIsBetter: true },
  { key: 'escalationRate', title: 'escalation rate', digits: 3, lowerIsBetter: true },
  { key: 'meanConfidence', title: 'mean confidence', digits: 3 },
  { key: 'p50LatencyMs', title: 'p50 latency (ms)', digits: 0, lowerIsBetter: true },
  { key: 'tokens', title: 'tokens', digits: 0, lowerIsBetter: true },
  { key: 'costUsd', title: 'cost (USD)', digits: 6, lowerIsBetter: true },
] as const;

export type ComparedMetric = (typeof COMPARED_METRICS)[number]['key'];
export type ComparedMetrics = Record<ComparedMetric, number | null>;

export interface PromptVersionRun {
  /** The version asked for. */
  promptVersion: string;
  /** What the drafts recorded: the version(s) and model(s) the worker actually used (absent: no chat model asked). */
  drafted: { promptVersion?: string; model?: string };
  metrics: ComparedMetrics;
  questions: number;
}

export interface PromptComparison {
  tenantId: string;
  /** The first version given: the others are compared with it. */
  reference: string;
  runs: PromptVersionRun[];
  /** Per other version: its metrics minus the reference's (null where either is unknown). */
  differences: { promptVersion: string; versus: string; delta: ComparedMetrics }[];
  /** Things that make the comparison weaker than it looks (e.g. the worker answers offline). */
  warnings: string[];
}

/** The versions to compare: each a known vN of this release, at least two, no repeats. */
export function checkVersions(versions: string[]): string[] {
  const known = promptVersions();
  for (const v of versions) {
    if (!PROMPT_VERSION_PATTERN.test(v) || !known.includes(v)) throw new UnknownPromptVersionError(v, known);
  }
  if (new Set(versions).size !== versions.length)
    throw new ClientInputError('INVALID_INPUT', 'Each --prompt-version may be given once.');
  if (versions.length < 2)
    throw new ClientInputError('INVALID_INPUT', 'Give two or more --prompt-version values to compare, e.g. v1 and v2.');
  return versions;
}

/** The ledger's model calls of the evaluation runs between `from` and `to` (this CLI's data dir; none if not shared). */
async function usageOf(
  dataDir: string | undefined,
  tenantId: string,
  from: Date,
  to: Date,
): Promise<{ tokens: number; costUsd: number | null } | undefined> {
  if (!dataDir) return undefined;
  let entries: UsageEntry[];
  try {
    entries = await UsageLedger.inDataDir(dataDir).between(tenantId, { from, to });
  } catch {
    return undefined;
  }
  const mine = entries.filter((e) => e.workflowType === EVALUATION_WORKFLOW_TYPE);
  if (mine.length === 0) return undefined;
  return {
    tokens: mine.reduce((n, e) => n + e.tokens.embedding + e.tokens.prompt + e.tokens.completion, 0),
    // A model missing from the price table is recorded at 0: a total would understate the cost, so none is given.
    costUsd: mine.every((e) => e.priced) ? mine.reduce((n, e) => n + e.costUsd, 0) : null,
  };
}

function metricsOf(
  report: EvaluationReport,
  usage: { tokens: number; costUsd: number | null } | undefined,
): ComparedMetrics {
  return {
    accuracy: report.metrics.answerAccuracy,
    notFoundAccuracy: report.metrics.abstentionAccuracy,
    servedWrongRate: report.servedWrongRate ?? null,
    escalationRate: report.metrics.escalationRate,
    meanConfidence: report.metrics.meanConfidence,
    p50LatencyMs: report.p50LatencyMs ?? null,
    tokens: usage?.tokens ?? null,
    costUsd: usage?.costUsd ?? null,
  };
}

function deltaOf(a: ComparedMetrics, b: ComparedMetrics): ComparedMetrics {
  const out = {} as ComparedMetrics;
  for (const { key } of COMPARED_METRICS) {
    const x = a[key];
    const y = b[key];
    out[key] = x === null || y === null ? null : y - x;
  }
  return out;
}

/**
 * Evaluates the golden set once per version, one after the other (so the runs do not share the workers and their
 * latencies compare), and puts the metrics side by side.
 */
export async function comparePromptVersions(
  client: Pick<GroundworkClient, 'runEvaluation'>,
  input: {
    tenantId: string;
    golden: GoldenQuestion[];
    promptVersions: string[];
    /** Where the cost ledger is (the workers' GROUNDWORK_DATA_DIR): tokens and cost when this machine shares it. */
    dataDir?: string;
    onProgress?: (message: string) => void;
  },
): Promise<PromptComparison> {
  const versions = checkVersions(input.promptVersions);
  const runs: PromptVersionRun[] = [];
  const warnings: string[] = [];
  for (const promptVersion of versions) {
    input.onProgress?.(`evaluating ${input.golden.length} questions with prompt ${promptVersion} …`);
    const from = new Date();
    const report = await client.runEvaluation({ tenantId: input.tenantId, golden: input.golden, promptVersion });
    const to = new Date(Date.now() + 1);
    const usage = await usageOf(input.dataDir, input.tenantId, from, to);
    runs.push({
      promptVersion,
      drafted: {
        ...(report.promptVersion ? { promptVersion: report.promptVersion } : {}),
        ...(report.model ? { model: report.model } : {}),
      },
      metrics: metricsOf(report, usage),
      questions: report.metrics.questions,
    });
    if (report.promptVersion === undefined)
      warnings.push(
        `No draft of the ${promptVersion} run asked a chat model (offline extractive answers, or nothing retrieved): the prompt version made no difference.`,
      );
    else if (report.promptVersion !== promptVersion)
      warnings.push(`The ${promptVersion} run's drafts recorded prompt ${report.promptVersion}.`);
  }
  const [reference, ...others] = runs as [PromptVersionRun, ...PromptVersionRun[]];
  return {
    tenantId: input.tenantId,
    reference: reference.promptVersion,
    runs,
    differences: others.map((r) => ({
      promptVersion: r.promptVersion,
      versus: reference.promptVersion,
      delta: deltaOf(reference.metrics, r.metrics),
    })),
    warnings,
  };
}

const fixed = (x: number | null, digits: number): string => (x === null ? 'n/a' : x.toFixed(digits));
const signed = (x: number | null, digits: number): string =>
  x === null ? 'n/a' : `${x > 0 ? '+' : x < 0 ? '-' : '±'}${Math.abs(x).toFixed(digits)}`;

/** The comparison as a table: one column per version, then one per difference with the reference. */
export function formatComparison(c: PromptComparison): string {
  const header = [
    'metric',
    ...c.runs.map((r) => r.promptVersion),
    ...c.differences.map((d) => `${d.promptVersion} - ${d.versus}`),
  ];
  const rows = COMPARED_METRICS.map((m) => [
    m.title,
    ...c.runs.map((r) => fixed(r.metrics[m.key], m.digits)),
    ...c.differences.map((d) => signed(d.delta[m.key], m.digits)),
  ]);
  const widths = header.map((_h, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
  const first = c.runs[0];
  const models = [...new Set(c.runs.map((r) => r.drafted.model).filter(Boolean))].join(', ') || 'none';
  return [
    `Prompt versions for tenant ${c.tenantId}: ${first?.questions ?? 0} golden questions, model ${models}`,
    '',
    line(header),
    ...rows.map(line),
    '',
    ...c.warnings.map((w) => `warning: ${w}`),
    'Higher is better for accuracy, not-found accuracy and mean confidence; lower for the others.',
    'Pin a version on the workers with GROUNDWORK_PROMPT_VERSION (rolling back is pinning the previous one).',
  ].join('\n');
}

export function addEvalCompareCommand(
  evaluation: Command,
  deps: {
    print: Print;
    withClient: <T>(fn: (client: GroundworkClient, config: Config) => Promise<T>) => Promise<T>;
    tenantOption: () => Option;
    readGolden: (file: string) => Promise<GoldenQuestion[]>;
    progress?: (message: string) => void;
  },
): void {
  evaluation
    .command('compare')
    .description(
      "evaluate the tenant's golden set once per prompt version on the running workers and show the metrics side by side",
    )
    .addOption(deps.tenantOption())
    .requiredOption('--golden <file>', 'golden set JSON: [{ question, expectedDocuments?, expectAnswer? }]')
    .requiredOption(
      '--prompt-version <version>',
      'a prompt version (prompts/answer/vN.md); give it twice or more, the first is the reference',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (opts: { tenant: string; golden: string; promptVersion: string[] }) => {
      const versions = checkVersions(opts.promptVersion);
      const golden = await deps.readGolden(opts.golden);
      await deps.withClient(async (client, config) => {
        const comparison = await comparePromptVersions(client, {
          tenantId: opts.tenant,
          golden,
          promptVersions: versions,
          dataDir: config.dataDir,
          onProgress: deps.progress,
        });
        deps.progress?.('');
        deps.print(comparison, () => formatComparison(comparison));
      });
    });
}
