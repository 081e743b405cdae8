// The one error model: every failure Groundwork raises on purpose carries a stable `code` (machines branch on it,
// it becomes the Temporal failure type) and says whether trying again can help. Messages are human sentences that
// never quote document content, answers or secrets.

export interface GroundworkErrorOptions {
  /** True for transient faults (timeouts, 429, 5xx): Temporal retries them. Default false: bad input. */
  retryable?: boolean;
  /** The server's own hint (`retry-after`, `retry_after`), used as the next retry delay. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class GroundworkError extends Error {
  override readonly name: string = 'GroundworkError';
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(
    readonly code: string,
    message: string,
    options: GroundworkErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  toJSON(): { code: string; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isGroundworkError(err: unknown): err is GroundworkError {
  return err instanceof GroundworkError;
}

/** Retry-after in ms from a `retry-after-ms` or `retry-after` header (seconds or an HTTP date). */
export function retryAfterFromHeaders(headers: { get(name: string): string | null } | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const ra = headers?.get('retry-after');
  if (!ra) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return secs * 1000;
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
