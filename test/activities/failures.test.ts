// The failure-mapping interceptor as Temporal's activity runtime applies it (through MockActivityEnvironment), and
// the classification of Qdrant client errors that feeds it.
import {
  QdrantClientResourceExhaustedError,
  QdrantClientTimeoutError,
  QdrantClientUnexpectedResponseError,
} from '@qdrant/js-client-rest';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, ensureApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { failureMapping, toApplicationFailure } from '../../activities/failures';
import { mapQdrantError } from '../../activities/vectors/qdrant';
import { GroundworkError } from '../../common/errors';
import { IngestError } from '../../ingest/errors';
import { applicationFailure, rejection, retryDelayMs } from './harness';

const logger = new DefaultLogger('ERROR');
const env = (): MockActivityEnvironment => new MockActivityEnvironment({}, { interceptors: [failureMapping], logger });
/** What Temporal sees when an activity throws `err`. */
const thrown = (err: unknown): Promise<unknown> =>
  env().run(async () => {
    throw err;
  });

describe('failure-mapping interceptor', () => {
  test('a non-retryable GroundworkError becomes a non-retryable ApplicationFailure typed by its code', async () => {
    const failure = await applicationFailure(
      thrown(new GroundworkError('INVALID_TENANT', 'The tenant id is not valid.')),
    );
    expect(failure).toMatchObject({
      type: 'INVALID_TENANT',
      message: 'The tenant id is not valid.',
      nonRetryable: true,
    });
    expect(retryDelayMs(failure)).toBeUndefined();
  });

  test("a retryable GroundworkError stays retryable, with the server's retry-after as the next retry delay", async () => {
    const failure = await applicationFailure(
      thrown(new GroundworkError('VECTOR_STORE_BUSY', 'Busy.', { retryable: true, retryAfterMs: 2500 })),
    );
    expect(failure).toMatchObject({ type: 'VECTOR_STORE_BUSY', nonRetryable: false });
    expect(retryDelayMs(failure)).toBe(2500);
  });

  test('a retry-after below 100 ms is raised to 100 ms; without one the retry policy decides', async () => {
    const tiny = await applicationFailure(
      thrown(new GroundworkError('MODEL_UNAVAILABLE', 'Busy.', { retryable: true, retryAfterMs: 5 })),
    );
    expect(retryDelayMs(tiny)).toBe(100);
    const none = await applicationFailure(
      thrown(new GroundworkError('MODEL_UNAVAILABLE', 'Busy.', { retryable: true })),
    );
    expect(none.nonRetryable).toBe(false);
    expect(retryDelayMs(none)).toBeUndefined();
  });

  test('a non-retryable error ignores a retry-after: it is never retried', async () => {
    const failure = await applicationFailure(
      thrown(new GroundworkError('VECTOR_STORE_REJECTED', 'No.', { retryAfterMs: 2500 })),
    );
    expect(failure.nonRetryable).toBe(true);
    expect(retryDelayMs(failure)).toBeUndefined();
  });

  test("a plain Error passes through unchanged, so Temporal retries it by the activity's retry policy", async () => {
    const err = new RangeError('unexpected');
    expect(await rejection(thrown(err))).toBe(err);
    // What the worker then reports: an ApplicationFailure typed by the error's name, retryable.
    expect(ensureApplicationFailure(err)).toMatchObject({ type: 'RangeError', nonRetryable: false });
  });

  test('an ApplicationFailure thrown by an activity passes through unchanged', async () => {
    const failure = ApplicationFailure.create({ type: 'CUSTOM', message: 'as is', nonRetryable: true });
    expect(await rejection(thrown(failure))).toBe(failure);
  });

  test('a cancelled activity rejects with the CancelledFailure itself, and a thrown one passes through', async () => {
    const e = env();
    const run = e.run(async () => {
      await Context.current().cancelled;
    });
    e.cancel();
    expect(await rejection(run)).toBeInstanceOf(CancelledFailure);
    const cancelled = new CancelledFailure('gone');
    expect(await rejection(thrown(cancelled))).toBe(cancelled);
    expect(toApplicationFailure(cancelled)).toBe(cancelled);
  });
});

describe('ingest errors through the interceptor', () => {
  // IngestError is a GroundworkError: parse failures reach Temporal typed by their code.
  test('a non-retryable IngestError becomes a non-retryable ApplicationFailure typed by its code', async () => {
    const failure = await applicationFailure(thrown(new IngestError('PDF_ENCRYPTED', 'The PDF is encrypted.')));
    expect(failure).toMatchObject({ type: 'PDF_ENCRYPTED', nonRetryable: true });
  });

  test('a transient IngestError stays retryable, typed by its code', async () => {
    const failure = await applicationFailure(
      thrown(new IngestError('PARSE_CRASHED', 'The parser process was stopped.', true)),
    );
    expect(failure).toMatchObject({ type: 'PARSE_CRASHED', nonRetryable: false });
  });
});

describe('mapQdrantError', () => {
  const withStatus = (status: number): Error => Object.assign(new Error(`Request failed`), { status });

  test.each([429, 503, 500, 408])('status %i is a retryable VECTOR_STORE_UNAVAILABLE', (status) => {
    expect(mapQdrantError(withStatus(status))).toMatchObject({ code: 'VECTOR_STORE_UNAVAILABLE', retryable: true });
  });

  test.each([400, 404, 401])('status %i is a non-retryable VECTOR_STORE_REJECTED', (status) => {
    const err = mapQdrantError(withStatus(status));
    expect(err).toBeInstanceOf(GroundworkError);
    expect(err).toMatchObject({ code: 'VECTOR_STORE_REJECTED', retryable: false });
  });

  test("the client's unexpected-response error is classified by the status in its message", () => {
    const err = QdrantClientUnexpectedResponseError.forResponse({
      status: 503,
      statusText: 'Service Unavailable',
      data: { status: { error: 'tenant secret' } },
    } as never);
    const mapped = mapQdrantError(err) as GroundworkError;
    expect(mapped).toMatchObject({ code: 'VECTOR_STORE_UNAVAILABLE', retryable: true });
    // Messages name the status only, never what the server sent back.
    expect(mapped.message).not.toContain('secret');
  });

  test('a rate-limit error carries retry_after as retryAfterMs, which becomes the next retry delay', async () => {
    const mapped = mapQdrantError(new QdrantClientResourceExhaustedError('x', '3'));
    expect(mapped).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    const failure = await applicationFailure(thrown(mapped));
    expect(failure.nonRetryable).toBe(false);
    expect(retryDelayMs(failure)).toBe(3000);
  });

  test('a timeout and a failed fetch (TypeError) are retryable', () => {
    expect(mapQdrantError(new QdrantClientTimeoutError('timed out'))).toMatchObject({
      code: 'VECTOR_STORE_UNAVAILABLE',
      retryable: true,
    });
    expect(mapQdrantError(new TypeError('fetch failed'))).toMatchObject({
      code: 'VECTOR_STORE_UNAVAILABLE',
      retryable: true,
    });
  });

  test('a GroundworkError and an unclassified error pass through unchanged', () => {
    const own = new GroundworkError('TENANT_MISMATCH', 'x');
    const other = new Error('something else');
    expect(mapQdrantError(own)).toBe(own);
    expect(mapQdrantError(other)).toBe(other);
  });
});
