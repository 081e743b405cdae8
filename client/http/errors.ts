// An HTTP refusal with a stable code: answered as { error: { code, message } } with the status.
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The HTTP status of a refusal: a decided task (or one another reviewer holds) is a conflict, an unknown one not found, a body or file over its limit
 * too large, anything else bad input.
 */
export function statusForCode(code: string): number {
  if (code === 'REVIEW_CLOSED' || code === 'REVIEW_CLAIMED' || code === 'INGEST_RUNNING') return 409;
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code.endsWith('TOO_LARGE')) return 413;
  return 400;
}
