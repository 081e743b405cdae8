// Maps domain errors to Temporal failures: bad input is non-retryable with a stable type; transient faults retry.
import { ApplicationFailure } from '@temporalio/common';
import { IngestError } from '../ingest/errors';
import { ModelRequestError, ModelUnavailableError } from './models/types';
import { TenantMismatchError } from './vectors/types';

export function badInput(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Re-throws `err` as the right ApplicationFailure; messages are ours, never document text or secrets. */
export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof IngestError) {
    return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: !err.retryable });
  }
  if (err instanceof ModelUnavailableError) {
    return ApplicationFailure.create({
      type: 'MODEL_UNAVAILABLE',
      message: err.message,
      nextRetryDelay: err.retryAfterMs !== undefined ? Math.max(err.retryAfterMs, 100) : undefined,
    });
  }
  if (err instanceof ModelRequestError) {
    return ApplicationFailure.create({ type: 'MODEL_REQUEST_REJECTED', message: err.message, nonRetryable: true });
  }
  if (err instanceof TenantMismatchError) {
    return ApplicationFailure.create({ type: 'TENANT_MISMATCH', message: err.message, nonRetryable: true });
  }
  return err;
}

export async function mapFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}
