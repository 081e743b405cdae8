// The calibrations that ship with the project, one per model pair, learned from ../shared/data/squad by
// `npm run eval:squad -- --fit` (see README "Answer quality"). A tenant without a fit of its own uses these.
import type { Calibration } from './calibration';
import shipped from './calibrations/default.json';

/**
 * Used only when no shipped fit exists at all: the answerer's own confidence, centred on 0.5, with every answer
 * below 0.6 going to review. Its version says it is not calibrated.
 */
const UNCALIBRATED: Calibration = {
  version: 'uncalibrated-v0',
  models: '*',
  features: [],
  answered: { mean: [], scale: [], weights: [], bias: 0 },
  notFound: { mean: [], scale: [], weights: [], bias: 0 },
  targetRisk: 0.05,
  threshold: 0.6,
  curve: [],
  labels: 0,
  fittedAt: '1970-01-01T00:00:00.000Z',
};

export const modelsKey = (embedderId: string, answererId: string): string => `${embedderId}|${answererId}`;

/**
 * The shipped fit for these models: the exact pair, else one with the same answerer (the signals are mostly the
 * answerer's), else the first one.
 */
export function defaultCalibration(
  models: string,
  fits: readonly Calibration[] = shipped as Calibration[],
): Calibration {
  const answerer = models.split('|')[1];
  return (
    fits.find((c) => c.models === models) ??
    fits.find((c) => c.models.split('|')[1] === answerer) ??
    fits[0] ??
    UNCALIBRATED
  );
}
