// Public API of ingest/: bytes in, located token-bounded chunks out. Validates size and sniffs the type from content
// in the calling process, then parses and chunks in an isolated child process under limits.
import { resolveChunking } from './chunk';
import { runExtraction } from './child';
import { IngestError } from './errors';
import { extractIsolated } from './isolate';
import type { ExtractJob, IsolateOptions } from './isolate';
import { checkSize, formatBytes, resolveLimits } from './limits';
import { sniff } from './sniff';
import type { ExtractInput, ExtractResult } from './types';

export { IngestError, isIngestError, INGEST_ERROR_CODES } from './errors';
export type { IngestErrorCode } from './errors';
export type * from './types';
export { formatLocator } from './locator';
export { contentHash } from './hash';
export { DEFAULT_LIMITS } from './limits';
export { DEFAULT_CHUNKING, chunkBlocks } from './chunk';
export { sniff } from './sniff';
export type { SniffResult } from './sniff';
export type { IsolationReport } from './isolate';

/** Per-call controls that are not part of the document request: cancellation (e.g. the activity's) and telemetry. */
export type ExtractOptions = Pick<IsolateOptions, 'signal' | 'onReport'>;

/**
 * Extracts chunks from untrusted bytes. Throws IngestError with a stable code: FILE_TOO_LARGE (checked before
 * anything else), EMPTY_FILE, UNSUPPORTED_TYPE, DECOMPRESSED_TOO_LARGE, PARSE_TIMEOUT, PARSE_MEMORY, PARSE_CRASHED,
 * or the format parser's own codes. A document without text yields zero chunks (callers decide whether that is
 * NO_TEXT). An aborted `signal` kills the parse and rejects with the signal's reason.
 *
 * Parsing and chunking both run in a child process (see isolate.ts and child.ts for why chunking does too).
 */
export async function extractChunks(input: ExtractInput, options: ExtractOptions = {}): Promise<ExtractResult> {
  const job = prepare(input);
  return extractIsolated(input.bytes, job, options);
}

/**
 * The same pipeline without the child process: no time or memory limits and no intrinsic hardening. For tests and
 * the benchmark only; never call it on untrusted bytes in the worker.
 */
export async function extractInProcess(input: ExtractInput): Promise<ExtractResult> {
  return runExtraction(input.bytes, prepare(input), false);
}

/** The checks that need no parser: limits, size, type, declared zip size. Cheap, so they run before any process starts. */
function prepare(input: ExtractInput): ExtractJob {
  const limits = resolveLimits(input.limits);
  checkSize(input.bytes.byteLength, limits);
  const chunking = resolveChunking(input.chunking);
  const sniffed = sniff(input.bytes, input.fileName);
  if ('zip' in sniffed && sniffed.zip.declaredUncompressedBytes > limits.maxDecompressedBytes) {
    throw new IngestError(
      'DECOMPRESSED_TOO_LARGE',
      `The workbook declares ${formatBytes(sniffed.zip.declaredUncompressedBytes)} of decompressed content; the limit is ${formatBytes(limits.maxDecompressedBytes)}.`,
    );
  }
  const job: ExtractJob = { sniffed, limits, chunking };
  if (input.password !== undefined) job.password = input.password;
  if (input.ocr !== undefined) job.ocr = input.ocr;
  if (input.includeHiddenSheets !== undefined) job.includeHiddenSheets = input.includeHiddenSheets;
  return job;
}
