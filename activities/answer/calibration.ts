// Calibrated confidence: a logistic model per draft kind ("answered", "not found") maps an answer's signals to the
// probability that the answer is correct, and selective prediction picks the threshold: the lowest confidence at
// which the answers served without review are wrong at most GROUNDWORK_TARGET_RISK of the time on labelled data.
// A default fit ships with the project (calibrations/default.json, learned by `npm run eval:squad -- --fit`); the
// scheduled evaluation refits per tenant once the tenant has enough labelled outcomes.
import type { AnswerSignals } from './signals';
import { SIGNAL_NAMES } from './signals';

export interface LogisticModel {
  /** Per feature, in SIGNAL_NAMES order: standardisation, then weight. A feature with scale 0 is ignored. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}

export interface Calibration {
  /** Recorded with every answer: which fit produced its confidence. */
  version: string;
  /** `<embedder id>|<answerer id>` the fit was learned with. */
  models: string;
  features: string[];
  answered: LogisticModel;
  notFound: LogisticModel;
  targetRisk: number;
  /** Lowest confidence served without review, for targetRisk, on the labelled outcomes. */
  threshold: number;
  /** Risk–coverage on the labelled outcomes: at each distinct confidence, how many were at or above it, how many wrong. */
  curve: CurvePoint[];
  /** Labelled outcomes the fit and the threshold were learned from. */
  labels: number;
  fittedAt: string;
}

export interface CurvePoint {
  confidence: number;
  served: number;
  wrong: number;
}

export type DraftKind = 'answered' | 'not_found';

/** One labelled outcome: the signals of an answer, what kind it was, and whether it was right. */
export interface LabelledOutcome {
  kind: DraftKind;
  signals: AnswerSignals;
  correct: boolean;
}

/** Probabilities stay inside (0, 1): a calibrated model never claims certainty. */
const P_MIN = 0.001;
const P_MAX = 0.999;

const vectorOf = (signals: AnswerSignals): number[] =>
  SIGNAL_NAMES.map((name) => {
    const v = signals[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  });

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function predictWith(model: LogisticModel, signals: AnswerSignals): number {
  const x = vectorOf(signals);
  let z = model.bias;
  x.forEach((v, i) => {
    const scale = model.scale[i] ?? 0;
    if (scale > 0) z += (model.weights[i] ?? 0) * ((v - (model.mean[i] ?? 0)) / scale);
  });
  return Math.round(Math.min(P_MAX, Math.max(P_MIN, sigmoid(z))) * 1000) / 1000;
}

/** The probability that a draft of this kind with these signals is correct. */
export function calibratedConfidence(calibration: Calibration, kind: DraftKind, signals: AnswerSignals): number {
  return predictWith(kind === 'answered' ? calibration.answered : calibration.notFound, signals);
}

/** L2-regularised logistic regression by Newton's method (IRLS) on standardised features. */
export function fitLogistic(rows: { x: number[]; y: number }[], l2 = 1): LogisticModel {
  const d = SIGNAL_NAMES.length;
  const n = rows.length;
  const mean = Array.from({ length: d }, (_, j) => (n ? rows.reduce((s, r) => s + (r.x[j] ?? 0), 0) / n : 0));
  const scale = Array.from({ length: d }, (_, j) => {
    const v = n ? rows.reduce((s, r) => s + ((r.x[j] ?? 0) - (mean[j] ?? 0)) ** 2, 0) / n : 0;
    return v > 1e-10 ? Math.sqrt(v) : 0;
  });
  const used = scale.map((s, j) => (s > 0 ? j : -1)).filter((j) => j >= 0);
  const z = rows.map((r) => [1, ...used.map((j) => ((r.x[j] ?? 0) - (mean[j] ?? 0)) / (scale[j] ?? 1))]);
  const m = used.length + 1;
  let beta = new Array<number>(m).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const grad = new Array<number>(m).fill(0);
    const hess = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    rows.forEach((r, i) => {
      const zi = z[i] as number[];
      const p = sigmoid(zi.reduce((s, v, k) => s + v * (beta[k] ?? 0), 0));
      const w = Math.max(p * (1 - p), 1e-6);
      for (let a = 0; a < m; a++) {
        grad[a] = (grad[a] ?? 0) + (zi[a] ?? 0) * (r.y - p);
        const row = hess[a] as number[];
        for (let b = 0; b < m; b++) row[b] = (row[b] ?? 0) + w * (zi[a] ?? 0) * (zi[b] ?? 0);
      }
    });
    for (let a = 1; a < m; a++) {
      grad[a] = (grad[a] ?? 0) - l2 * (beta[a] ?? 0);
      (hess[a] as number[])[a] = ((hess[a] as number[])[a] ?? 0) + l2;
    }
    const step = solve(hess, grad);
    beta = beta.map((b, k) => b + (step[k] ?? 0));
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
  }
  const weights = new Array<number>(d).fill(0);
  used.forEach((j, k) => (weights[j] = round6(beta[k + 1] ?? 0)));
  return { mean: mean.map(round6), scale: scale.map(round6), weights, bias: round6(beta[0] ?? 0) };
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Gaussian elimination with partial pivoting; the matrix is positive definite (regularised), so it is solvable. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] ?? 0]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]?.[col] ?? 0) > Math.abs(m[pivot]?.[col] ?? 0)) pivot = r;
    [m[col], m[pivot]] = [m[pivot] as number[], m[col] as number[]];
    const p = (m[col] as number[])[col] ?? 0;
    if (Math.abs(p) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = ((m[r] as number[])[col] ?? 0) / p;
      if (f === 0) continue;
      for (let c = col; c <= n; c++)
        (m[r] as number[])[c] = ((m[r] as number[])[c] ?? 0) - f * ((m[col] as number[])[c] ?? 0);
    }
  }
  return Array.from({ length: n }, (_, i) => {
    const p = (m[i] as number[])[i] ?? 0;
    return Math.abs(p) < 1e-12 ? 0 : ((m[i] as number[])[n] ?? 0) / p;
  });
}

/** Risk–coverage points: for each distinct confidence (highest first), the answers at or above it and the wrong ones. */
export function riskCoverage(scored: { confidence: number; correct: boolean }[]): CurvePoint[] {
  const sorted = [...scored].sort((a, b) => b.confidence - a.confidence);
  const curve: CurvePoint[] = [];
  let wrong = 0;
  sorted.forEach((s, i) => {
    if (!s.correct) wrong += 1;
    // Only between distinct confidences: a threshold serves every answer at or above it.
    if (sorted[i + 1]?.confidence !== s.confidence) curve.push({ confidence: s.confidence, served: i + 1, wrong });
  });
  return curve;
}

/**
 * Selective prediction: the lowest threshold whose served set (confidence ≥ threshold) has a risk of at most
 * `targetRisk`, counting one extra error (so a handful of lucky answers never lowers the bar). When no threshold
 * qualifies, every answer goes to review: the threshold is 1.
 */
export function thresholdFor(curve: CurvePoint[], targetRisk: number): number {
  let best = 1;
  for (const p of curve) if ((p.wrong + 1) / (p.served + 1) <= targetRisk) best = Math.min(best, p.confidence);
  return best;
}

export function selectThreshold(scored: { confidence: number; correct: boolean }[], targetRisk: number): number {
  return thresholdFor(riskCoverage(scored), targetRisk);
}

/** Learns a calibration from labelled outcomes (at least one of each kind is needed for that kind's model). */
export function fitCalibration(
  outcomes: LabelledOutcome[],
  options: { version: string; models: string; targetRisk: number; now?: Date },
): Calibration {
  const rowsOf = (kind: DraftKind) =>
    outcomes.filter((o) => o.kind === kind).map((o) => ({ x: vectorOf(o.signals), y: o.correct ? 1 : 0 }));
  const partial: Omit<Calibration, 'threshold' | 'curve'> = {
    version: options.version,
    models: options.models,
    features: [...SIGNAL_NAMES],
    answered: fitLogistic(rowsOf('answered')),
    notFound: fitLogistic(rowsOf('not_found')),
    targetRisk: options.targetRisk,
    labels: outcomes.length,
    fittedAt: (options.now ?? new Date()).toISOString(),
  };
  const scored = outcomes.map((o) => ({
    confidence: predictWith(o.kind === 'answered' ? partial.answered : partial.notFound, o.signals),
    correct: o.correct,
  }));
  const curve = riskCoverage(scored);
  return { ...partial, threshold: thresholdFor(curve, options.targetRisk), curve };
}

/** The signals a reviewer should look at first: those pulling the confidence down the most. */
export function weakestSignals(calibration: Calibration, kind: DraftKind, signals: AnswerSignals, count = 3): string[] {
  const model = kind === 'answered' ? calibration.answered : calibration.notFound;
  const x = vectorOf(signals);
  return SIGNAL_NAMES.map((name, i) => {
    const scale = model.scale[i] ?? 0;
    const pull = scale > 0 ? (model.weights[i] ?? 0) * (((x[i] ?? 0) - (model.mean[i] ?? 0)) / scale) : 0;
    return { name, pull };
  })
    .filter((s) => s.pull < 0)
    .sort((a, b) => a.pull - b.pull)
    .slice(0, count)
    .map((s) => s.name);
}
