// Identifier rules shared by clients, activities and workflows: tenant and document ids, question normalisation
// and workflow ids. Pure and deterministic, so workflow code may import it.
import { GroundworkError } from './errors';

export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/**
 * Document ids: 1-200 Unicode letters, digits and combining marks, ".", "_", "@", "~" or "-", starting with a letter
 * or digit (`報告.pdf` is an id). "~" is never produced from a name except before the hash that documentIdFromName
 * appends, so generated ids cannot collide with names that were already safe.
 */
export const DOCUMENT_ID_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}\p{M}_.@~-]{0,199}$/u;
/** The tenant rule without anchors, for building route patterns. */
export const TENANT_ID_SOURCE = TENANT_ID_PATTERN.source.slice(1, -1);
/** The document rule without anchors, for route patterns: build them with the `u` flag, match decoded segments. */
export const DOCUMENT_ID_SOURCE = DOCUMENT_ID_PATTERN.source.slice(1, -1);

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

const MAX_DOCUMENT_ID = 200;
/** Characters a name keeps as they are; "~" is missing on purpose (see DOCUMENT_ID_PATTERN). */
const UNSAFE_IN_NAME = /[^\p{L}\p{N}\p{M}_.@-]+/gu;

/**
 * Document ids default to the file name (its last path segment, in Unicode NFC): `報告.pdf` stays `報告.pdf`. When the
 * name has to change to become an id (spaces, brackets, a leading dot, too long), a short stable hash of the name is
 * appended after "~" (before the extension), so `Q3 report.pdf` → `Q3-report~1a2b3c4d.pdf` never meets the id of a
 * file really called `Q3-report.pdf`: two different names never share an id.
 */
export function documentIdFromName(fileName: string): string {
  const name = (fileName.split(/[\\/]/).pop() ?? '').normalize('NFC');
  const safe = name.replace(UNSAFE_IN_NAME, '-').replace(/^[^\p{L}\p{N}]+/u, '');
  if (safe === name && [...safe].length <= MAX_DOCUMENT_ID && safe !== '') return safe;
  const hash = `~${stableKey(name).slice(0, 8)}`;
  const ext = /\.[\p{L}\p{N}]{1,10}$/u.exec(safe)?.[0] ?? '';
  const stem = [...safe.slice(0, safe.length - ext.length).replace(/-+$/, '')]
    .slice(0, MAX_DOCUMENT_ID - hash.length - ext.length)
    .join('');
  return stem ? `${stem}${hash}${ext}` : `doc${hash}${ext}`;
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
export const deleteDocumentWorkflowId = (tenantId: string, documentId: string): string =>
  `delete:${tenantId}:${documentId}`;
export const purgeTenantWorkflowId = (tenantId: string): string => `purge:${tenantId}`;
