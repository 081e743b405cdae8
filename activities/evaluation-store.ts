// Per-tenant evaluation state: reviewer corrections (which become golden questions), labels, calibration fits, the
// metrics baseline that drift is measured against, run results, run records and report pages.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { normalizeQuestion } from '../common/ids';
import { LocalObjectStore, scopedStore } from '../common/object-store';
import type { ObjectStore } from '../common/object-store';
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

/** Parses JSON lines; a torn last line from a crash mid-append (files written before records were objects) is skipped. */
function parseLines<T>(raw: string): T[] {
  const out: T[] = [];
  for (const line of raw.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // torn line
    }
  }
  return out;
}

/** The reference of an encoded golden set: its content hash, under which saveGoldenSet keeps it. */
export const goldenSetRef = (encoded: Uint8Array): string => createHash('sha256').update(encoded).digest('hex');

/** Sorts in the order records were appended: keys start with a fixed-width time and a per-process sequence. */
let appendSequence = 0;
const appendKey = (): string =>
  `${Date.now().toString().padStart(15, '0')}-${(appendSequence++ % 1e9).toString().padStart(9, '0')}-${randomBytes(4).toString('hex')}.jsonl`;

/**
 * Per-tenant evaluation state as objects of the deployment's object store (shared by every worker host and client):
 * `<tenant>/corrections/`, `labels/` and `runs/<run>/` hold appended records, one object per append (an object
 * store cannot append); `baseline.json`, `latest.json` and `calibrations/current.json` are replaced whole.
 * A data dir written before (one `corrections.jsonl`, `labels.jsonl`, `runs/<run>.jsonl`) is still read.
 */
export class EvaluationStore {
  private readonly objects: ObjectStore;
  private readonly ledgerDir: string | undefined;

  /**
   * `location`: the evaluation store's object store, or a local folder (`<data>/evaluations`). `dataDir`: where the
   * usage ledger reports read cost from; default the folder's parent.
   */
  constructor(location: ObjectStore | string, options: { dataDir?: string } = {}) {
    this.objects = typeof location === 'string' ? new LocalObjectStore(location) : location;
    this.ledgerDir = options.dataDir ?? (typeof location === 'string' ? path.dirname(location) : undefined);
  }

  /** The evaluation state of a deployment's object store (`evaluations/`); `dataDir` holds the usage ledger. */
  static inStore(objects: ObjectStore, dataDir: string): EvaluationStore {
    return new EvaluationStore(scopedStore(objects, 'evaluations'), { dataDir });
  }

  private dir(tenantId: string): string {
    return encodeURIComponent(tenantId);
  }

  private async text(key: string): Promise<string | undefined> {
    return (await this.objects.get(key))?.toString('utf8');
  }

  /** Appends records as one new object below `folder`. */
  private async append(folder: string, records: unknown[]): Promise<void> {
    if (records.length === 0) return;
    await this.objects.put(`${folder}/${appendKey()}`, records.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /** Every record appended below `folder` (after those of the legacy `<folder>.jsonl` file), in append order. */
  private async appended<T>(folder: string): Promise<T[]> {
    const legacy = parseLines<T>((await this.text(`${folder}.jsonl`)) ?? '');
    const keys = (await this.objects.list(folder)).filter((k) => k.endsWith('.jsonl'));
    const parts = await Promise.all(keys.map(async (k) => parseLines<T>((await this.text(k)) ?? '')));
    return [...legacy, ...parts.flat()];
  }

  private async latestPerKey<T>(folder: string, keyOf: (record: T) => string): Promise<T[]> {
    const latest = new Map<string, T>();
    for (const record of await this.appended<T>(folder)) latest.set(keyOf(record), record);
    return [...latest.values()];
  }

  async addCorrection(tenantId: string, record: CorrectionRecord): Promise<void> {
    await this.append(`${this.dir(tenantId)}/corrections`, [record]);
  }

  /**
   * Corrections as golden questions; the latest decision per question wins. A rejection says the draft was
   * wrong but not what is right, so it yields no golden question.
   */
  async correctionsAsGolden(tenantId: string): Promise<GoldenQuestion[]> {
    const latest = await this.latestPerKey<CorrectionRecord>(`${this.dir(tenantId)}/corrections`, (rec) =>
      normalizeQuestion(rec.question),
    );
    return latest
      .filter((rec) => rec.decision !== 'rejected')
      .map((rec) => ({ question: rec.question, expectAnswer: true, expectedDocuments: rec.documentIds }));
  }

  async baseline(tenantId: string): Promise<EvaluationMetrics | undefined> {
    const raw = await this.text(`${this.dir(tenantId)}/baseline.json`);
    return raw ? (JSON.parse(raw) as EvaluationMetrics) : undefined;
  }

  /** Removes the tenant's corrections, baseline and reports (a tenant purge); returns how many objects there were. */
  async removeTenant(tenantId: string): Promise<number> {
    return this.objects.deletePrefix(this.dir(tenantId));
  }

  async saveReport(report: EvaluationReport, setBaseline: boolean): Promise<void> {
    const dir = this.dir(report.tenantId);
    await this.objects.put(`${dir}/latest.json`, JSON.stringify(report, null, 2));
    if (setBaseline) await this.objects.put(`${dir}/baseline.json`, JSON.stringify(report.metrics, null, 2));
  }

  /** Appends labelled outcomes; a later label with the same key replaces an earlier one. */
  async addLabels(tenantId: string, labels: StoredLabel[]): Promise<void> {
    await this.append(`${this.dir(tenantId)}/labels`, labels);
  }

  async labels(tenantId: string): Promise<StoredLabel[]> {
    return this.latestPerKey<StoredLabel>(`${this.dir(tenantId)}/labels`, (label) => label.key);
  }

  /** Keeps a tenant's calibration fit (every version is kept) and makes it the tenant's current one. */
  async saveCalibration(tenantId: string, calibration: Calibration): Promise<void> {
    const dir = `${this.dir(tenantId)}/calibrations`;
    const body = JSON.stringify(calibration);
    await this.objects.put(`${dir}/${encodeURIComponent(calibration.version)}.json`, body);
    await this.objects.put(`${dir}/current.json`, body);
  }

  async calibration(tenantId: string): Promise<Calibration | undefined> {
    const raw = await this.text(`${this.dir(tenantId)}/calibrations/current.json`);
    return raw ? (JSON.parse(raw) as Calibration) : undefined;
  }

  /** How many calibration versions the tenant has had. */
  async calibrationCount(tenantId: string): Promise<number> {
    const keys = await this.objects.list(`${this.dir(tenantId)}/calibrations`);
    return keys.filter((k) => k.endsWith('.json') && !k.endsWith('/current.json')).length;
  }

  /** The data dir of the usage ledger that reports read cost from (undefined: no ledger at hand). */
  get dataDir(): string | undefined {
    return this.ledgerDir;
  }

  /** Every result kept for a run (appendRunResults), in the order the pages ran; empty when there are none. */
  async runResults(tenantId: string, runKey: string): Promise<EvaluationQuestionResult[]> {
    return this.appended<EvaluationQuestionResult>(`${this.dir(tenantId)}/runs/${encodeURIComponent(runKey)}`);
  }

  /** Keeps a run's record for reports (metrics, compact outcomes, worst questions) under history/, one object a run. */
  async saveRunRecord(record: EvaluationRunRecord): Promise<void> {
    await this.objects.put(
      `${this.dir(record.tenantId)}/history/${encodeURIComponent(record.runId)}.json`,
      JSON.stringify(record),
    );
  }

  /** The tenant's run records, oldest first; with a limit, the latest ones (by the time each run recorded). */
  async runRecords(tenantId: string, options: { limit?: number } = {}): Promise<EvaluationRunRecord[]> {
    const keys = (await this.objects.list(`${this.dir(tenantId)}/history`)).filter((k) => k.endsWith('.json'));
    const records = (
      await Promise.all(
        keys.map(async (k) => {
          try {
            return JSON.parse((await this.text(k)) ?? '') as EvaluationRunRecord;
          } catch {
            return undefined;
          }
        }),
      )
    )
      .filter((r): r is EvaluationRunRecord => r !== undefined)
      .sort((a, b) => a.runAt.localeCompare(b.runAt) || a.runId.localeCompare(b.runId));
    return options.limit !== undefined ? records.slice(-options.limit) : records;
  }

  /** Keeps a run's HTML report page. */
  async saveReportPage(tenantId: string, runId: string, html: string): Promise<void> {
    await this.objects.put(`${this.dir(tenantId)}/reports/${encodeURIComponent(runId)}.html`, html);
  }

  /** A run's HTML report page, if it was written. */
  async reportPage(tenantId: string, runId: string): Promise<string | undefined> {
    return this.text(`${this.dir(tenantId)}/reports/${encodeURIComponent(runId)}.html`);
  }

  /**
   * Keeps a golden set (written with encodeGoldenSet) under its content hash, which an evaluation carries instead of
   * the questions: the set a client gives, and the set a run evaluates (with the corrections merged). The same set is
   * one object; it stays until the tenant is purged.
   */
  async saveGoldenSet(tenantId: string, encoded: Uint8Array): Promise<string> {
    const sha256 = goldenSetRef(encoded);
    await this.objects.put(this.goldenKey(tenantId, sha256), Buffer.from(encoded));
    return sha256;
  }

  /** A golden set kept by saveGoldenSet, as written; undefined when there is none under that hash. */
  async goldenSet(tenantId: string, sha256: string, maxBytes: number): Promise<Buffer | undefined> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    return this.objects.get(this.goldenKey(tenantId, sha256), { maxBytes });
  }

  private goldenKey(tenantId: string, sha256: string): string {
    return `${this.dir(tenantId)}/golden/${sha256}.json`;
  }

  /** Keeps every result of an evaluation run (all pages, all continued runs) under the run's key. */
  async appendRunResults(tenantId: string, runKey: string, results: EvaluationQuestionResult[]): Promise<void> {
    await this.append(`${this.dir(tenantId)}/runs/${encodeURIComponent(runKey)}`, results);
  }
}
