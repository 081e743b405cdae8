import {
  answerWorkflowId,
  documentIdFromName,
  ingestWorkflowId,
  normalizeQuestion,
  questionKey,
  stableKey,
} from '../../common/ids';
import { computeMetrics, detectDrift } from '../../workflows/evaluate';

describe('workflow ids', () => {
  test('are business keys built from tenant and document or question', () => {
    expect(ingestWorkflowId('acme', 'handbook.pdf')).toBe('ingest:acme:handbook.pdf');
    expect(answerWorkflowId('acme', 'How many days?')).toMatch(/^answer:acme:[0-9a-f]{16}$/);
  });

  test('questions differing only in case, spacing or final punctuation share a key', () => {
    expect(questionKey('How many  vacation days?')).toBe(questionKey('how many vacation days'));
    expect(questionKey('How many vacation days?')).not.toBe(questionKey('How many sick days?'));
  });

  test('one rule says when two questions are the same', () => {
    expect(normalizeQuestion('  How many   DAYS?! ')).toBe('how many days');
    expect(normalizeQuestion('What is 2.5')).toBe('what is 2.5');
  });

  test('document ids from file names keep Unicode letters and mark a changed name with a hash of it', () => {
    expect(documentIdFromName('報告.pdf')).toBe('報告.pdf');
    expect(documentIdFromName('/x/handbook.pdf')).toBe('handbook.pdf');
    expect(documentIdFromName('/x/Q3 report (final).pdf')).toMatch(/^Q3-report-final~[0-9a-f]{8}\.pdf$/);
    expect(documentIdFromName('.hidden')).toMatch(/^hidden~[0-9a-f]{8}$/);
    // Two different names never share an id, even when sanitising makes them look alike.
    expect(documentIdFromName('Q3 report.pdf')).not.toBe(documentIdFromName('Q3-report.pdf'));
    expect(documentIdFromName('Q3-report.pdf')).toBe('Q3-report.pdf');
  });

  test('stableKey is deterministic and spreads similar inputs', () => {
    expect(stableKey('abc')).toBe(stableKey('abc'));
    expect(stableKey('abc')).not.toBe(stableKey('abd'));
  });
});

describe('evaluation metrics and drift', () => {
  const golden = [
    { question: 'a', expectedDocuments: ['d1'] },
    { question: 'b', expectAnswer: false },
    { question: 'c' },
  ];
  const results = [
    { question: 'a', status: 'answered' as const, confidence: 0.9, retrievalHit: true, correct: true },
    { question: 'b', status: 'not_found' as const, confidence: 1, retrievalHit: null, correct: true },
    { question: 'c', status: 'not_found' as const, confidence: 0.2, retrievalHit: null, correct: false },
  ];

  test('computes rates only over the questions they apply to', () => {
    const m = computeMetrics(golden, results, 0.6);
    expect(m.questions).toBe(3);
    expect(m.retrievalHitRate).toBe(1);
    expect(m.answerAccuracy).toBeCloseTo(2 / 3);
    expect(m.abstentionAccuracy).toBe(1);
    expect(m.escalationRate).toBeCloseTo(1 / 3);
    expect(m.meanConfidence).toBeCloseTo(0.7);
  });

  test('flags drift when a metric falls further than the tolerance', () => {
    const base = computeMetrics(golden, results, 0.6);
    expect(detectDrift(base, base, 0.1).detected).toBe(false);
    expect(detectDrift(base, undefined, 0.1).detected).toBe(false);
    const worse = { ...base, answerAccuracy: base.answerAccuracy - 0.2, escalationRate: base.escalationRate + 0.5 };
    const drift = detectDrift(worse, base, 0.1);
    expect(drift.detected).toBe(true);
    expect(drift.reasons).toHaveLength(2);
    expect(drift.reasons[0]).toMatch(/answerAccuracy fell/);
    expect(detectDrift({ ...base, answerAccuracy: base.answerAccuracy - 0.05 }, base, 0.1).detected).toBe(false);
  });
});
