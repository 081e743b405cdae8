// Plain-text rendering of results for people; --json prints the objects themselves.
import type {
  AnswerResult,
  Citation,
  EvaluationReport,
  IngestDocumentResult,
  ReviewOutcome,
  ReviewTaskState,
} from '../workflows/definitions';

function citationLines(citations: Citation[]): string[] {
  return citations.map(
    (c, i) => `  [${i + 1}] ${c.sourceName ?? c.documentId}, ${c.locator}: "${truncate(c.quote, 160)}"`,
  );
}

export function formatAnswer(r: AnswerResult): string {
  const lines = [r.answer, '', ...citationLines(r.citations)];
  const review = r.review
    ? `; review ${r.review.decision}${r.review.reviewerId ? ` by ${r.review.reviewerId}` : ''}`
    : '';
  lines.push(`  status ${r.status}; confidence ${r.confidence.toFixed(2)} (threshold ${r.threshold})${review}`);
  return lines.join('\n');
}

export function formatIngest(r: IngestDocumentResult): string {
  const where = [
    r.pages !== undefined ? `${r.pages} pages` : '',
    r.sheets !== undefined ? `${r.sheets} sheets` : '',
    r.ocrPages ? `${r.ocrPages} OCR` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const warn = r.warnings.length ? `; ${r.warnings.length} warnings` : '';
  return `${r.documentId}: ${r.status}, ${r.chunks} chunks${where ? ` (${where})` : ''}${r.retired ? `, ${r.retired} old chunks retired` : ''}${warn}`;
}

export function formatReview(s: ReviewTaskState): string {
  const lines = [
    `task      ${s.taskId}`,
    `status    ${s.status}${s.outcome?.reviewerId ? ` by ${s.outcome.reviewerId}` : ''}`,
    `question  ${s.question}`,
    `draft     ${s.draft.answer}`,
    `          confidence ${s.draft.confidence.toFixed(2)} < threshold ${s.threshold}`,
    'retrieved chunks (cite these by id when editing):',
  ];
  for (const r of s.retrieved)
    lines.push(
      `  ${r.chunkId}  ${r.sourceName ?? r.documentId}, ${r.locator} (score ${r.score.toFixed(2)}): ${truncate(r.preview, 100)}`,
    );
  for (const f of s.refused) lines.push(`refused   ${f.action} by ${f.reviewerId || '?'}: ${f.reason}`);
  return lines.join('\n');
}

/** A reviewer's decision as the task recorded it. */
export function formatReviewOutcome(taskId: string, o: ReviewOutcome): string {
  const lines = [`${taskId}: ${o.decision}${o.reviewerId ? ` by ${o.reviewerId}` : ''}`];
  if (o.answer) lines.push(`  ${o.answer}`, ...citationLines(o.citations));
  if (o.note) lines.push(`  note: ${o.note}`);
  return lines.join('\n');
}

export function formatEvaluation(r: EvaluationReport): string {
  const m = r.metrics;
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(0)}%`);
  const lines = [
    `tenant ${r.tenantId}: ${m.questions} questions`,
    `  retrieval hit rate ${pct(m.retrievalHitRate)}, answer accuracy ${pct(m.answerAccuracy)}, abstention accuracy ${pct(m.abstentionAccuracy)}`,
    `  mean confidence ${m.meanConfidence.toFixed(2)}, would escalate ${pct(m.escalationRate)}`,
    r.drift.detected ? `  DRIFT: ${r.drift.reasons.join('; ')}` : '  no drift against the baseline',
  ];
  return lines.join('\n');
}

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}
