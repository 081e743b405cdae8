// Review statistics for /console/stats, computed from the queue rows: backlog by age, median time to decision,
// decisions per week, and how often reviewers agree with the model (approve its draft) per confidence band.
import type { QueueRow } from './queue';

export interface ReviewStats {
  backlog: { bucket: string; count: number }[];
  medianDecisionMs: number | null;
  decided: number;
  weekly: { week: string; approved: number; edited: number; rejected: number }[];
  agreement: { band: string; decided: number; approved: number; rate: number | null }[];
}

const HOUR = 3_600_000;
const BACKLOG_BUCKETS: [string, number][] = [
  ['< 1 h', HOUR],
  ['1–4 h', 4 * HOUR],
  ['4–24 h', 24 * HOUR],
  ['1–3 d', 72 * HOUR],
  ['> 3 d', Infinity],
];
const BANDS = [0, 0.2, 0.4, 0.6, 0.8, 1.0001];
const WEEKS = 8;

/** Monday 00:00 UTC of the week of t, as YYYY-MM-DD. */
export function weekOf(t: number): string {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day)).toISOString().slice(0, 10);
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function computeStats(rows: QueueRow[], now = Date.now()): ReviewStats {
  const pending = rows.filter((r) => ['open', 'claimed', 'escalated'].includes(r.status));
  const backlog = BACKLOG_BUCKETS.map(([bucket]) => ({ bucket, count: 0 }));
  for (const r of pending) {
    const age = now - Date.parse(r.openedAt);
    const i = BACKLOG_BUCKETS.findIndex(([, max]) => age < max);
    (backlog[i] as { count: number }).count += 1;
  }
  const decided = rows.filter(
    (r) => r.decidedAt && (r.decision === 'approved' || r.decision === 'edited' || r.decision === 'rejected'),
  );
  const medianDecisionMs = median(decided.map((r) => Date.parse(r.decidedAt as string) - Date.parse(r.openedAt)));

  const weeks: string[] = [];
  for (let i = WEEKS - 1; i >= 0; i--) weeks.push(weekOf(now - i * 7 * 24 * HOUR));
  const weekly = weeks.map((week) => ({ week, approved: 0, edited: 0, rejected: 0 }));
  for (const r of decided) {
    const w = weekly.find((x) => x.week === weekOf(Date.parse(r.decidedAt as string)));
    if (w) w[r.decision as 'approved' | 'edited' | 'rejected'] += 1;
  }

  const agreement = BANDS.slice(0, -1).map((lo, i) => {
    const hi = BANDS[i + 1] as number;
    const inBand = decided.filter((r) => r.confidence >= lo && r.confidence < hi);
    const approved = inBand.filter((r) => r.decision === 'approved').length;
    return {
      band: `${lo.toFixed(1)}–${Math.min(hi, 1).toFixed(1)}`,
      decided: inBand.length,
      approved,
      rate: inBand.length ? approved / inBand.length : null,
    };
  });
  return { backlog, medianDecisionMs, decided: decided.length, weekly, agreement };
}
