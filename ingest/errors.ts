// Typed ingestion failures: a stable `code` for machines and a human sentence that never quotes document content.
// IngestError is the ingestion flavour of the project's one error model (common/errors.ts).
import { GroundworkError } from '../common/errors';

export const INGEST_ERROR_CODES = [
  'EMPTY_FILE',
  'UNSUPPORTED_TYPE',
  'FILE_TOO_LARGE',
  'TOO_MANY_PAGES',
  'TOO_MANY_CELLS',
  'DECOMPRESSED_TOO_LARGE',
  'PARSE_TIMEOUT',
  'PARSE_MEMORY',
  'PARSE_CRASHED',
  'PDF_ENCRYPTED',
  'PDF_BAD_PASSWORD',
  'PDF_CORRUPT',
  'SHEET_ENCRYPTED',
  'SHEET_CORRUPT',
  'TEXT_ENCODING',
  'NO_TEXT',
] as const;

export type IngestErrorCode = (typeof INGEST_ERROR_CODES)[number];

/**
 * A GroundworkError whose code is one of INGEST_ERROR_CODES. Bad input unless `retryable` says trying again can help
 * (a parser process killed from outside, or that could not start). Crosses the child-process boundary as its
 * toJSON() shape (WireError in isolate.ts).
 */
export class IngestError extends GroundworkError {
  override readonly name = 'IngestError';
  declare readonly code: IngestErrorCode;

  constructor(code: IngestErrorCode, message: string, retryable = false) {
    super(code, message, { retryable });
  }

  override toJSON(): { code: IngestErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isIngestError(err: unknown): err is IngestError {
  return err instanceof IngestError;
}
