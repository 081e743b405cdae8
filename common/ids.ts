// Identifier rules shared by clients, activities and workflows: tenant and document ids, question normalisation
// and workflow ids. Pure and deterministic, so workflow code may import it.
import { GroundworkError } from './errors';

export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const DOCUMENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$/;
/** The tenant rule without anchors, for building route patterns. */
export const TENANT_ID_SOURCE = TENANT_ID_PATTERN.source.slice(1, -1);

export const isTenantId = (value: unknown): value is string =>
  typeof value === 'string' && TENANT_ID_PATTERN.test(value);
export const isDocumentId = (value: unknown): value is string =>
  typeof value === 'string' && DOCUMENT_ID_PATTERN.test(value);

/** Checked by every activity and store call before any filter or path is built from the id. */
export function assertTenantId(tenantId: unknown): asserts tenantId is string {
  if (!isTenantId(tenantId)) throw new GroundworkError('INVALID_TENANT', 'The tenant id is not valid.');
}

export function assertDocumentId(documentId: unknown): asserts documentId is string {
  if (!isDocumentId(documentId)) throw new GroundworkError('INVALID_DOCUMENT_ID', 'The document id is not valid.');
}

/** A short, stable, non-cryptographic key (two FNV-1a 32-bit passes): pure JS so workflows may use it too. */
export function stableKey(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193 ^ 0x2f) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** The one rule for "the same question": case, runs of spaces and final punctuation do not count. */
export function normalizeQuestion(question: string): string {
  return question
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[\s?!.]+$/, '')
    .trim();
}

/** Questions that differ only in case, spacing or final punctuation share one key. */
export function questionKey(question: string): string {
  return stableKey(normalizeQuestion(question));
}

/** Document ids default to the file name, made safe: "Q3 report.pdf" → "Q3-report.pdf". */
export function documentIdFromName(fileName: string): string {
  const base = (fileName.split(/[\\/]/).pop() ?? '').replace(/[^A-Za-z0-9_.@-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (base || `doc-${stableKey(fileName)}`).slice(0, 200);
}

export const ingestWorkflowId = (tenantId: string, documentId: string): string => `ingest:${tenantId}:${documentId}`;
export const ingestBatchWorkflowId = (tenantId: string, batchKey: string): string =>
  `ingest-batch:${tenantId}:${batchKey}`;
export const answerWorkflowId = (tenantId: string, question: string): string =>
  `answer:${tenantId}:${questionKey(question)}`;
/** Review tasks are keyed by the answer run they belong to, so a retried answer never opens a second task. */
export const reviewWorkflowId = (tenantId: string, answerRunKey: string): string =>
  `review:${tenantId}:${answerRunKey}`;
export const evaluationScheduleId = (tenantId: string): string => `evaluate:${tenantId}`;
export const evaluationWorkflowId = (tenantId: string, stamp: string): string => `evaluate:${tenantId}:${stamp}`;
