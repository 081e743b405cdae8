// Typed ingestion failures: a stable `code` for machines and a human sentence that never quotes document content.

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

export class IngestError extends Error {
  override readonly name = 'IngestError';
  constructor(
    readonly code: IngestErrorCode,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }

  toJSON(): { code: IngestErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isIngestError(err: unknown): err is IngestError {
  return err instanceof IngestError;
}
