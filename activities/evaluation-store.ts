// Per-tenant evaluation state on disk: reviewer corrections (which become golden questions) and the
// metrics baseline that drift is measured against.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { normalizeQuestion } from '../common/ids';
import type {
  EvaluationMetrics,
  EvaluationQuestionResult,
  EvaluationReport,
  GoldenQuestion,
} from '../workflows/definitions';
import type { Calibration, LabelledOutcome } from './answer/calibration';
import type { EvaluationRunRecord } from '../client/report/model';

export interface CorrectionRecord {
  question: string;
  decision: 'approved' | 'edited' | 'rejected';
  documentIds: string[];
  reviewerId: string;
  recordedAt: string;
}

/** A labelled outcome with the key it is kept under: the latest label per key wins (a golden question, a review). */
export interface StoredLabel extends LabelledOutcome {
  key: string;
  recordedAt: string;
}

/**
 * The records of an append-only JSON-lines file, the latest per key. A torn last line from a crash mid-append is
 * skipped rather than failing every reader.
 */
async function latestPerKey<T>(file: string, keyOf: (record: T) => string): Promise<T[]> {
  const raw = await fs.readFile(file, 'utf8').catch(() => '');
  const latest = new Map<string, T>();
  for (const line of raw.split('\n')) {
    if (!line.trim()) continue;
    try {
      const record = JSON.parse(line) as T;
      latest.set(keyOf(record), record);
    } catch {
      // torn line
    }
  }
  return [...latest.values()];
}

export class EvaluationStore {
  constructor(private readonly root: string) {}

  private dir(tenantId: string): string {
    return path.join(this.root, encodeURIComponent(tenantId));
  }

  async addCorrection(tenantId: string, record: CorrectionRecord): Promise<void> {
    await fs.mkdir(this.dir(tenantId), { recursive: true });
    await fs.appendFile(path.join(this.dir(tenantId), 'corrections.jsonl'), JSON.stringify(record) + '\n');
  }

  /**
   * Corrections as golden questions; the latest decision per question wins. A rejection says the draft was
   * wrong but not what is right, so it yields no golden question.
   */
  async correctionsAsGolden(tenantId: string): Promise<GoldenQuestion[]> {
    const latest = await latestPerKey<CorrectionRecord>(path.join(this.dir(tenantId), 'corrections.jsonl'), (rec) =>
      normalizeQuestion(rec.question),
    );
    return latest
      .filter((rec) => rec.decision !== 'rejected')
      .map((rec) => ({ question: rec.question, expectAnswer: true, expectedDocuments: rec.documentIds }));
  }

  async baseline(tenantId: string): Promise<EvaluationMetrics | undefined> {
    const raw = await fs.readFile(path.join(this.dir(tenantId), 'baseline.json'), 'utf8').catch(() => undefined);
    return raw ? (JSON.parse(raw) as EvaluationMetrics) : undefined;
  }

  /** Removes the tenant's corrections, baseline and reports (a tenant purge); returns how many files there were. */
  async removeTenant(tenantId: string): Promise<number> {
    const dir = this.dir(tenantId);
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    await fs.rm(dir, { recursive: true, force: true });
    return entries.length;
  }

  async saveReport(report: EvaluationReport, setBaseline: boolean): Promise<void> {
    const dir = this.dir(report.tenantId);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'latest.json'), JSON.stringify(report, null, 2));
    if (setBaseline) await fs.writeFile(path.join(dir, 'baseline.json'), JSON.stringify(report.metrics, null, 2));
  }

  /** Appends labelled outcomes; a later label with the same key replaces an earlier one. */
  async addLabels(tenantId: string, labels: StoredLabel[]): Promise<void> {
    if (labels.length === 0) return;
    await fs.mkdir(this.dir(tenantId), { recursive: true });
    await fs.appendFile(
      path.join(this.dir(tenantId), 'labels.jsonl'),
      labels.map((l) => JSON.stringify(l) + '\n').join(''),
    );
  }

  async labels(tenantId: string): Promise<StoredLabel[]> {
    return latestPerKey<StoredLabel>(path.join(this.dir(tenantId), 'labels.jsonl'), (label) => label.key);
  }

  /** Keeps a tenant's calibration fit (every version stays on disk) and makes it the tenant's current one. */
  async saveCalibration(tenantId: string, calibration: Calibration): Promise<void> {
    const dir = path.join(this.dir(tenantId), 'calibrations');
    await fs.mkdir(dir, { recursive: true });
    const body = JSON.stringify(calibration);
    await fs.writeFile(path.join(dir, `${encodeURIComponent(calibration.version)}.json`), body);
    const tmp = path.join(dir, `current.json.${process.pid}.tmp`);
    await fs.writeFile(tmp, body);
    await fs.rename(tmp, path.join(dir, 'current.json'));
  }

  async calibration(tenantId: string): Promise<Calibration | undefined> {
    const raw = await fs
      .readFile(path.join(this.dir(tenantId), 'calibrations', 'current.json'), 'utf8')
      .catch(() => undefined);
    return raw ? (JSON.parse(raw) as Calibration) : undefined;
  }

  /** How many calibration versions the tenant has had. */
  async calibrationCount(tenantId: string): Promise<number> {
    const entries = await fs.readdir(path.join(this.dir(tenantId), 'calibrations')).catch(() => [] as string[]);
    return entries.filter((e) => e.endsWith('.json') && e !== 'current.json').length;
  }

  /** The data dir the store lives in (its parent), where the other stores of the deployment are. */
  get dataDir(): string {
    return path.dirname(this.root);
  }

  /** Every result kept for a run (appendRunResults), in the order the pages ran; empty when there are none. */
  async runResults(tenantId: string, runKey: string): Promise<EvaluationQuestionResult[]> {
    const file = path.join(this.dir(tenantId), 'runs', `${encodeURIComponent(runKey)}.jsonl`);
    const raw = await fs.readFile(file, 'utf8').catch(() => '');
    const out: EvaluationQuestionResult[] = [];
    for (const line of raw.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as EvaluationQuestionResult);
      } catch {
        // torn line
      }
    }
    return out;
  }

  /** Keeps a run's record for reports (metrics, compact outcomes, worst questions) under history/, one file a run. */
  async saveRunRecord(record: EvaluationRunRecord): Promise<void> {
    const dir = path.join(this.dir(record.tenantId), 'history');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${encodeURIComponent(record.runId)}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(record));
    await fs.rename(tmp, file);
  }

  /** The tenant's run records, oldest first; with a limit, the latest ones written (the rest are not read). */
  async runRecords(tenantId: string, options: { limit?: number } = {}): Promise<EvaluationRunRecord[]> {
    const dir = path.join(this.dir(tenantId), 'history');
    let files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
    if (options.limit !== undefined && files.length > options.limit) {
      const stats = await Promise.all(
        files.map(async (f) => ({ f, mtime: (await fs.stat(path.join(dir, f)).catch(() => undefined))?.mtimeMs ?? 0 })),
      );
      files = stats
        .sort((a, b) => b.mtime - a.mtime)
        .slice(0, options.limit)
        .map((s) => s.f);
    }
    const records = await Promise.all(
      files.map(async (f) => {
        try {
          return JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as EvaluationRunRecord;
        } catch {
          return undefined;
        }
      }),
    );
    return records
      .filter((r): r is EvaluationRunRecord => r !== undefined)
      .sort((a, b) => a.runAt.localeCompare(b.runAt) || a.runId.localeCompare(b.runId));
  }

  /** Where a run's HTML report is kept. */
  reportFile(tenantId: string, runId: string): string {
    return path.join(this.dir(tenantId), 'reports', `${encodeURIComponent(runId)}.html`);
  }

  /** Keeps every result of an evaluation run (all pages, all continued runs) under the run's key. */
  async appendRunResults(tenantId: string, runKey: string, results: EvaluationQuestionResult[]): Promise<void> {
    if (results.length === 0) return;
    const dir = path.join(this.dir(tenantId), 'runs');
    await fs.mkdir(dir, { recursive: true });
    await fs.appendFile(
      path.join(dir, `${encodeURIComponent(runKey)}.jsonl`),
      results.map((r) => JSON.stringify(r) + '\n').join(''),
    );
  }
}
