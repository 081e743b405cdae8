// Calibrated confidence: the logistic fit learns which signals predict correctness, selective prediction picks the
// threshold for a target risk, and the shipped defaults cover the offline models.
import type { AnswerSignals } from '../../activities/answer/signals';
import { computeSignals, questionType, typeMatch } from '../../activities/answer/signals';
import type { LabelledOutcome } from '../../activities/answer/calibration';
import {
  calibratedConfidence,
  fitCalibration,
  riskCoverage,
  selectThreshold,
  thresholdFor,
  weakestSignals,
} from '../../activities/answer/calibration';
import { defaultCalibration, modelsKey } from '../../activities/answer/defaults';
import { mmrSelect } from '../../activities/answer/mmr';
import { ExtractiveAnswerer } from '../../activities/models/extractive-answerer';
import { LexicalEmbedder } from '../../activities/models/lexical-embedder';

const base: AnswerSignals = {
  retrieval: 0.5,
  margin: 0.1,
  citedScore: 0.5,
  citedRank: 1,
  agreement: 0,
  coverage: 0.5,
  missingTerms: 0.5,
  lexicalSupport: 1,
  semanticSupport: 0.5,
  typeMatch: 0.5,
  kept: 1,
  draftConfidence: 0.5,
};

/** A deterministic pseudo-random sequence, so the synthetic data is the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Answers are right when coverage is high and few question terms are missing; noise elsewhere. */
function synthetic(n: number, seed = 7): LabelledOutcome[] {
  const r = random(seed);
  return Array.from({ length: n }, () => {
    const coverage = r();
    const missingTerms = r();
    const signals = { ...base, coverage, missingTerms, retrieval: r(), margin: r() };
    const p = 1 / (1 + Math.exp(-(6 * coverage - 6 * missingTerms)));
    return { kind: 'answered' as const, signals, correct: r() < p };
  });
}

describe('fitCalibration', () => {
  const outcomes = synthetic(600);
  const fit = fitCalibration(outcomes, { version: 't-v1', models: 'a|b', targetRisk: 0.1 });

  test('learns the signals that predict correctness, with the right signs', () => {
    const i = (name: string): number => fit.features.indexOf(name);
    expect(fit.answered.weights[i('coverage')]).toBeGreaterThan(0.5);
    expect(fit.answered.weights[i('missingTerms')]).toBeLessThan(-0.5);
    expect(Math.abs(fit.answered.weights[i('retrieval')] ?? 0)).toBeLessThan(0.5);
  });

  test('its probabilities are calibrated: in each band the observed accuracy is near the predicted one', () => {
    const scored = synthetic(2000, 11).map((o) => ({ p: calibratedConfidence(fit, o.kind, o.signals), o }));
    for (const [lo, hi] of [
      [0, 0.3],
      [0.3, 0.7],
      [0.7, 1],
    ] as const) {
      const band = scored.filter((s) => s.p >= lo && s.p < hi);
      const predicted = band.reduce((a, s) => a + s.p, 0) / band.length;
      const observed = band.filter((s) => s.o.correct).length / band.length;
      expect(Math.abs(predicted - observed)).toBeLessThan(0.08);
    }
  });

  test('the threshold keeps the risk among served answers at or under the target on held-out data', () => {
    const heldOut = synthetic(2000, 23).map((o) => ({
      confidence: calibratedConfidence(fit, o.kind, o.signals),
      correct: o.correct,
    }));
    const served = heldOut.filter((s) => s.confidence >= fit.threshold);
    expect(served.length).toBeGreaterThan(100);
    expect(served.filter((s) => !s.correct).length / served.length).toBeLessThanOrEqual(0.13);
  });

  test('a lower target risk gives a higher threshold from the same curve', () => {
    expect(thresholdFor(fit.curve, 0.02)).toBeGreaterThanOrEqual(thresholdFor(fit.curve, 0.1));
  });

  test('the weakest signals are those pulling the confidence down', () => {
    const weak = weakestSignals(fit, 'answered', { ...base, coverage: 0.05, missingTerms: 0.95 });
    expect(weak.slice(0, 2).sort()).toEqual(['coverage', 'missingTerms']);
  });
});

describe('selectThreshold', () => {
  test('serves from the lowest confidence whose served set meets the risk, counting one extra error', () => {
    const scored = [
      ...Array.from({ length: 40 }, () => ({ confidence: 0.9, correct: true })),
      ...Array.from({ length: 10 }, (_, i) => ({ confidence: 0.5, correct: i < 5 })),
    ];
    // At 0.9: (0 + 1) / 41 ≈ 2.4% ≤ 5%; at 0.5: (5 + 1) / 51 ≈ 11.8% > 5%.
    expect(selectThreshold(scored, 0.05)).toBe(0.9);
    expect(selectThreshold(scored, 0.2)).toBe(0.5);
  });

  test('nothing qualifies: every answer goes to review', () => {
    expect(selectThreshold([{ confidence: 0.99, correct: false }], 0.05)).toBe(1);
    expect(selectThreshold([], 0.05)).toBe(1);
  });

  test('the curve counts served and wrong answers at each distinct confidence', () => {
    expect(
      riskCoverage([
        { confidence: 0.8, correct: true },
        { confidence: 0.8, correct: false },
        { confidence: 0.3, correct: false },
      ]),
    ).toEqual([
      { confidence: 0.8, served: 2, wrong: 1 },
      { confidence: 0.3, served: 3, wrong: 2 },
    ]);
  });
});

describe('signals', () => {
  test('question types and whether the answer has what was asked for', () => {
    expect(questionType('When did the Normans arrive?')).toBe('date');
    expect(questionType('How many days of leave are there?')).toBe('number');
    expect(questionType('Who founded the duchy?')).toBe('name');
    expect(questionType('Why is the sky blue?')).toBe('unknown');
    expect(typeMatch('In what year did it end?', 'It ended in 1204 after the siege.')).toBe(1);
    expect(typeMatch('In what year did it end?', 'It ended after a long siege.')).toBe(0);
    expect(typeMatch('Who led the raid?', 'The raid was led by Rollo.')).toBe(1);
    expect(typeMatch('Why did it end?', 'Because of the siege.')).toBe(0.5);
  });

  test('a cited chunk missing the question terms and a weak retrieval show in the signals', () => {
    const context = [
      { ref: 'C1', chunkId: 'a', documentId: 'd', locator: 'p. 1', text: 'Rollo led the Vikings in 911.', score: 0.3 },
      { ref: 'C2', chunkId: 'b', documentId: 'd', locator: 'p. 2', text: 'The duchy grew.', score: 0.25 },
    ];
    const s = computeSignals({
      question: 'When did Rollo lead the Danes?',
      context,
      answer: 'Rollo led the Vikings in 911.',
      citedRef: 'C1',
      lexicalSupport: 1,
      kept: 1,
      draftConfidence: 0.7,
    });
    expect(s.retrieval).toBe(0.3);
    expect(s.margin).toBeCloseTo(0.2, 5);
    expect(s.citedRank).toBe(1);
    expect(s.missingTerms).toBeGreaterThan(0);
    expect(s.typeMatch).toBe(1);
    expect(s.agreement).toBe(0);
  });
});

describe('shipped calibration', () => {
  test('there is a fit for the offline models, learned from labelled outcomes, with its threshold', () => {
    const fit = defaultCalibration(modelsKey(new LexicalEmbedder().id, new ExtractiveAnswerer().id));
    expect(fit.version).toMatch(/^default-squad-/);
    expect(fit.labels).toBeGreaterThanOrEqual(1000);
    expect(fit.threshold).toBeGreaterThan(0);
    expect(fit.threshold).toBeLessThanOrEqual(1);
    expect(fit.answered.weights.some((w) => w !== 0)).toBe(true);
  });

  test('unknown models fall back to a fit of the same answerer', () => {
    const fit = defaultCalibration('someone-else:embedder|extractive-v1');
    expect(fit.models.endsWith('|extractive-v1')).toBe(true);
  });
});

describe('mmrSelect', () => {
  test('skips a near-copy of a chosen candidate for a less relevant but different one', () => {
    const picked = mmrSelect(
      [
        { relevance: 1, text: 'Employees get 25 days of paid vacation per year.' },
        { relevance: 0.95, text: 'Employees get 25 days of paid vacation per year, as said.' },
        { relevance: 0.7, text: 'Sick leave requires a note from a doctor.' },
      ],
      2,
    );
    expect(picked).toEqual([0, 2]);
  });

  test('with relevance only (lambda 1) it keeps the relevance order', () => {
    const picked = mmrSelect(
      [
        { relevance: 0.2, text: 'a b c' },
        { relevance: 0.9, text: 'a b c' },
        { relevance: 0.5, text: 'x y z' },
      ],
      3,
      1,
    );
    expect(picked).toEqual([1, 2, 0]);
  });
});
