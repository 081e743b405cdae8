// The parse step of ingestion: read the source, skip when this exact version is already live, otherwise parse in an
// isolated child process and stage the chunks on disk. Returns a small manifest, never the chunks.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { GroundworkError } from '../common/errors';
import { assertDocumentId, assertTenantId } from '../common/ids';
import { contentHash, extractChunks, formatLocator } from '../ingest';
import type { ExtractResult, IngestLimits } from '../ingest';
import type { IngestDocumentInput, IngestWarningSummary } from '../workflows/definitions';
import { MAX_INLINE_BYTES } from '../workflows/definitions';
import type { StagingArea } from './staging';
import type { VectorStore } from './vectors/types';

/** Bump when chunking or payload layout changes, so unchanged bytes are re-ingested once. */
const PIPELINE_VERSION = 'p1';
const MAX_WARNINGS_RETURNED = 20;
/** The parse child gives no progress of its own; the activity says it is alive this often while it runs. */
const PARSE_HEARTBEAT_MS = 5_000;

export interface ParsingOptions {
  vectors: VectorStore;
  staging: StagingArea;
  /** Part of every document version: another embedder means other vectors, so the same bytes ingest again. */
  embedderId: string;
  limits: Pick<IngestLimits, 'maxBytes' | 'timeoutMs' | 'maxMemoryMb'>;
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

export function createParsingActivities({ vectors, staging, embedderId, limits }: ParsingOptions) {
  async function readSource({ source }: IngestDocumentInput): Promise<{ bytes: Uint8Array; name: string }> {
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
    const file = path.resolve(source.path);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile())
      throw new GroundworkError('SOURCE_NOT_FOUND', 'The source file does not exist or is not a regular file.');
    if (stat.size > limits.maxBytes) {
      throw new GroundworkError(
        'FILE_TOO_LARGE',
        `The file is larger than the ${Math.round(limits.maxBytes / 1048576)} MB limit.`,
      );
    }
    return { bytes: await fs.readFile(file), name: path.basename(file) };
  }

  /** Parses in the isolated child, heartbeating meanwhile; cancelling the activity kills the child. */
  async function parse(input: IngestDocumentInput, bytes: Uint8Array, fileName: string): Promise<ExtractResult> {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat({ stage: 'parsing' }), PARSE_HEARTBEAT_MS);
    try {
      ctx.heartbeat({ stage: 'parsing' });
      return await extractChunks(
        {
          bytes,
          fileName,
          password: input.password,
          includeHiddenSheets: input.includeHiddenSheets,
          chunking: { acrossPages: input.chunkAcrossPages === true },
          limits,
        },
        { signal: ctx.cancellationSignal },
      );
    } finally {
      clearInterval(beat);
    }
  }

  return {
    async prepareDocument(input: IngestDocumentInput): Promise<PreparedDocument> {
      assertTenantId(input.tenantId);
      assertDocumentId(input.documentId);
      const { bytes, name } = await readSource(input);
      const options = `${PIPELINE_VERSION}|${embedderId}|hidden=${input.includeHiddenSheets ? 1 : 0}${input.chunkAcrossPages ? '|across=1' : ''}`;
      const version = contentHash(Buffer.concat([Buffer.from(options + '\n'), bytes])).slice(0, 20);
      if ((await vectors.activeVersion(input.tenantId, input.documentId)) === version) {
        const chunks = await vectors.count(input.tenantId, { documentId: input.documentId, state: 'active' });
        return { unchanged: true, version, chunks, warnings: [] };
      }
      const result = await parse(input, bytes, name);
      if (result.chunks.length === 0)
        throw new GroundworkError('NO_TEXT', 'No text could be extracted from the document.');
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
    },
  };
}
