// The one place where errors become Temporal failures: an activity interceptor. Every GroundworkError becomes an
// ApplicationFailure whose type is its code, non-retryable unless the error says it is transient, with the server's
// retry-after as the next retry delay. Activities and proxies therefore carry no error lists of their own.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  Next,
} from '@temporalio/worker';
import { GroundworkError } from '../common/errors';

/** Temporal retries at most this soon even when a server asks for less. */
const MIN_RETRY_DELAY_MS = 100;

export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (err instanceof GroundworkError) {
    return ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: !err.retryable,
      nextRetryDelay:
        err.retryable && err.retryAfterMs !== undefined ? Math.max(err.retryAfterMs, MIN_RETRY_DELAY_MS) : undefined,
    });
  }
  // Anything else is unexpected (a bug, or a library fault we have not classified): retried with the policy's backoff.
  return err;
}

export class FailureMappingInterceptor implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      throw toApplicationFailure(err);
    }
  }
}

/** For Worker.create({ interceptors: { activity: [failureMapping] } }) and MockActivityEnvironment. */
export const failureMapping = (): ActivityInterceptors => ({ inbound: new FailureMappingInterceptor() });
