// The parse step of ingestion: read the source, skip when this exact version is already live, otherwise parse in an
// isolated child process and stage the chunks on disk. Returns a small manifest, never the chunks.
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import type { BlobStore } from '../common/blob-store';
import { GroundworkError } from '../common/errors';
import { assertDocumentId, assertTenantId } from '../common/ids';
import { pdfPasswordScope } from '../common/secrets';
import type { Secrets } from '../common/secrets';
import { readIngestPath } from '../common/source-files';
import { contentHash, extractChunks, formatLocator } from '../ingest';
import type { ExtractResult, IngestLimits } from '../ingest';
import type { IngestDocumentInput, IngestWarningSummary } from '../workflows/definitions';
import { MAX_INLINE_BYTES } from '../workflows/definitions';
import type { DocumentRegistry } from './documents';
import { blobOf } from './documents';
import { whileHeartbeating } from './heartbeat';
import type { StagingArea } from './staging';
import type { VectorStore } from './vectors/types';

/** Bump when chunking or payload layout changes, so unchanged bytes are re-ingested once. */
const PIPELINE_VERSION = 'p1';

/**
 * A document version: the content hash of the source bytes with the pipeline version, the embedder and the options
 * that change the chunks. The same bytes ingested the same way are the same version (re-ingesting is a no-op).
 */
export function documentVersion(
  bytes: Uint8Array,
  embedderId: string,
  options: { includeHiddenSheets?: boolean; chunkAcrossPages?: boolean },
): string {
  const key = `${PIPELINE_VERSION}|${embedderId}|hidden=${options.includeHiddenSheets ? 1 : 0}${options.chunkAcrossPages ? '|across=1' : ''}`;
  return contentHash(Buffer.concat([Buffer.from(key + '\n'), bytes])).slice(0, 20);
}
const MAX_WARNINGS_RETURNED = 20;

export interface ParsingOptions {
  vectors: VectorStore;
  staging: StagingArea;
  /** Part of every document version: another embedder means other vectors, so the same bytes ingest again. */
  embedderId: string;
  limits: Pick<IngestLimits, 'maxBytes' | 'timeoutMs' | 'maxMemoryMb'>;
  /**
   * Where PDF passwords wait for their ingestion (`passwordRef`): <data>/secrets, which the clients that start
   * ingestions and every worker host must share.
   */
  secrets: Secrets;
  /** Where `blob` sources are read (uploads). Without it, blob sources fail with BLOB_STORE_MISSING. */
  blobs?: BlobStore;
  /** GROUNDWORK_INGEST_ROOTS: `path` sources are read only below `<root>/<tenant>/`; none configured, none read. */
  ingestRoots?: readonly string[];
  /** The document registry learns of every staged version (and backfills documents found unchanged). */
  registry?: DocumentRegistry;
}

export interface PreparedDocument {
  unchanged: boolean;
  version: string;
  stagingRef?: string;
  chunks: number;
  pages?: number;
  sheets?: number;
  ocrPages?: number;
  warnings: IngestWarningSummary[];
}

/** The PDF password: from the secret store, or the plain `password` of a run started before passwordRef existed. */
async function resolvePassword(secrets: Secrets, input: IngestDocumentInput): Promise<string | undefined> {
  if (input.passwordRef === undefined) return input.password;
  return secrets.read(input.passwordRef, { scope: pdfPasswordScope(input.tenantId, input.documentId) });
}

/** Once the password has served (or can no longer serve: a final failure), it is deleted, never left for the TTL. */
async function forgetPassword(secrets: Secrets, input: IngestDocumentInput): Promise<void> {
  if (input.passwordRef === undefined) return;
  await secrets.remove(input.passwordRef).catch((err: unknown) => {
    log.warn('could not remove a used PDF password; it expires by itself', {
      documentId: input.documentId,
      error: err instanceof Error ? err.message : String(err),
    });
  });
}

/** True when Temporal will not run this activity again after this failure: no retry will need the password. */
function finalFailure(err: unknown): boolean {
  if (err instanceof GroundworkError && !err.retryable) return true; // PDF_BAD_PASSWORD, PDF_ENCRYPTED, NO_TEXT, …
  const { attempt, retryPolicy } = Context.current().info;
  const max = retryPolicy?.maximumAttempts;
  return max !== undefined && max > 0 && attempt >= max;
}

/**
 * The source's bytes, never more than the size limit plus one byte (whatever `stat` says). Blobs must be the
 * tenant's own; paths must lie below the tenant's ingest root once symlinks are resolved (PATH_NOT_ALLOWED).
 */
async function readSource(
  { blobs, limits, ingestRoots = [] }: ParsingOptions,
  { tenantId, source }: IngestDocumentInput,
): Promise<{ bytes: Uint8Array; name: string }> {
  if (source.kind === 'blob') {
    if (!blobs) throw new GroundworkError('BLOB_STORE_MISSING', 'This worker has no blob store configured.');
    return { bytes: await blobs.read(source.ref, { maxBytes: limits.maxBytes, tenantId }), name: source.name };
  }
  if (source.kind === 'inline') {
    const bytes = Buffer.from(source.contentBase64, 'base64');
    if (bytes.length > MAX_INLINE_BYTES) {
      throw new GroundworkError(
        'FILE_TOO_LARGE',
        `Inline uploads are limited to ${MAX_INLINE_BYTES} bytes; pass a path instead.`,
      );
    }
    return { bytes, name: source.name };
  }
  const bytes = await readIngestPath(ingestRoots, tenantId, source.path, limits.maxBytes);
  return { bytes, name: path.basename(source.path) };
}

/**
 * Parses in the isolated child, heartbeating meanwhile (the child gives no progress of its own); cancelling the
 * activity kills the child.
 */
async function parse(
  limits: ParsingOptions['limits'],
  input: IngestDocumentInput,
  password: string | undefined,
  bytes: Uint8Array,
  fileName: string,
): Promise<ExtractResult> {
  const ctx = Context.current();
  return whileHeartbeating((progress) => {
    progress({ stage: 'parsing' });
    return extractChunks(
      {
        bytes,
        fileName,
        password,
        includeHiddenSheets: input.includeHiddenSheets,
        chunking: { acrossPages: input.chunkAcrossPages === true },
        limits,
      },
      { signal: ctx.cancellationSignal },
    );
  });
}

async function prepare(
  options: ParsingOptions,
  input: IngestDocumentInput,
  password: string | undefined,
): Promise<PreparedDocument> {
  const { vectors, staging, embedderId, registry } = options;
  const { bytes, name } = await readSource(options, input);
  const version = documentVersion(bytes, embedderId, input);
  if ((await vectors.activeVersion(input.tenantId, input.documentId)) === version) {
    const chunks = await vectors.count(input.tenantId, { documentId: input.documentId, state: 'active' });
    const live = { version, name: input.sourceName ?? name, chunks };
    await registry?.recordUnchanged(input.tenantId, input.documentId, live, blobOf(input.source));
    return { unchanged: true, version, chunks, warnings: [] };
  }
  const result = await parse(options.limits, input, password, bytes, name);
  if (result.chunks.length === 0) throw new GroundworkError('NO_TEXT', 'No text could be extracted from the document.');
  const stagingRef = await staging.write({
    tenantId: input.tenantId,
    documentId: input.documentId,
    version,
    sourceName: input.sourceName ?? name,
    chunks: result.chunks.map((c) => ({
      index: c.index,
      text: c.text,
      locator: formatLocator(c.locator),
      locatorJson: JSON.stringify(c.locator),
      heading: c.heading,
      tokens: c.tokens,
    })),
  });
  const { stats, warnings, kind } = result.document;
  log.info('document parsed', { documentId: input.documentId, version, chunks: result.chunks.length, kind });
  await registry?.recordPrepared(
    input.tenantId,
    input.documentId,
    {
      version,
      name: input.sourceName ?? name,
      chunks: result.chunks.length,
      pages: stats.pages,
      sheets: stats.sheets,
    },
    blobOf(input.source),
  );
  return {
    unchanged: false,
    version,
    stagingRef,
    chunks: result.chunks.length,
    pages: stats.pages,
    sheets: stats.sheets,
    ocrPages: stats.ocrPages,
    warnings: warnings.slice(0, MAX_WARNINGS_RETURNED).map((w) => ({
      code: w.code,
      message: w.message,
      locator: w.locator ? formatLocator(w.locator) : undefined,
    })),
  };
}

export function createParsingActivities(options: ParsingOptions) {
  const { secrets } = options;
  return {
    async prepareDocument(input: IngestDocumentInput): Promise<PreparedDocument> {
      assertTenantId(input.tenantId);
      assertDocumentId(input.documentId);
      const password = await resolvePassword(secrets, input);
      try {
        const prepared = await prepare(options, input, password);
        await forgetPassword(secrets, input);
        return prepared;
      } catch (err) {
        if (finalFailure(err)) await forgetPassword(secrets, input);
        throw err;
      }
    },
  };
}
