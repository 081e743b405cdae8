// Gathers a tenant's report data (run records of the evaluation store, spend from the usage ledger) and renders or
// writes the page. Used by the saveEvaluation activity and by `groundwork eval report`.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageLedger } from '../../activities/ledger';
import type { EvaluationStore } from '../../activities/evaluation-store';
import type { CostSummary, EvaluationReportData } from './model';
import { renderEvaluationReport } from './render';

/** Runs a report charts: the latest, so a report of years of daily runs is still read and drawn in well under a second. */
export const MAX_REPORTED_RUNS = 400;

/** The window cost per query is measured over, ending at the report's time. */
export const COST_WINDOW_DAYS = 30;

async function costOf(
  dataDir: string | undefined,
  tenantId: string,
  now: Date,
): Promise<{ cost: CostSummary | null; costNote?: string }> {
  if (dataDir === undefined) return { cost: null, costNote: 'no usage ledger is configured for this report' };
  const from = new Date(now.getTime() - COST_WINDOW_DAYS * 24 * 3600 * 1000);
  try {
    const s = await UsageLedger.inDataDir(dataDir).summary(tenantId, { from, to: now });
    if (s.calls === 0)
      return {
        cost: null,
        costNote: `the usage ledger has no model calls for this tenant in the last ${COST_WINDOW_DAYS} days`,
      };
    return {
      cost: { from: s.from, to: s.to, costUsd: s.costUsd, answers: s.answers, costPerAnswerUsd: s.costPerAnswerUsd },
    };
  } catch {
    return { cost: null, costNote: 'the usage ledger could not be read' };
  }
}

export async function loadReportData(
  store: EvaluationStore,
  tenantId: string,
  options: { driftTolerance: number; now?: Date },
): Promise<EvaluationReportData> {
  const now = options.now ?? new Date();
  const runs = await store.runRecords(tenantId, { limit: MAX_REPORTED_RUNS });
  return {
    tenantId,
    generatedAt: now.toISOString(),
    runs,
    driftTolerance: options.driftTolerance,
    ...(await costOf(store.dataDir, tenantId, now)),
  };
}

/** The tenant's report page and how many runs it charts. */
export async function renderReportPage(
  store: EvaluationStore,
  tenantId: string,
  options: { driftTolerance: number; now?: Date },
): Promise<{ html: string; runs: number }> {
  const data = await loadReportData(store, tenantId, options);
  return { html: renderEvaluationReport(data), runs: data.runs.length };
}

/** Renders the tenant's report and writes it whole (temp file, then rename); returns its size in bytes. */
export async function writeReportFile(
  store: EvaluationStore,
  tenantId: string,
  file: string,
  options: { driftTolerance: number; now?: Date },
): Promise<{ bytes: number; runs: number }> {
  const { html, runs } = await renderReportPage(store, tenantId, options);
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, html);
  await fs.rename(tmp, file);
  return { bytes: Buffer.byteLength(html), runs };
}
