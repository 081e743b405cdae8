// Parsed chunks wait here between the parse and the embed steps, so that large data never travels through
// workflow history: the workflow carries only a reference to the file. One JSON file per document version; with
// several worker hosts, GROUNDWORK_DATA_DIR must be shared storage.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GroundworkError } from '../common/errors';

/**
 * A document id as one folder name: URL-encoded, or, when that would pass file-name limits (long Unicode ids
 * take 3 characters per UTF-8 byte), a prefix and a hash. Every id that fitted before keeps its folder, so running
 * ingestions still match.
 */
function folderName(id: string): string {
  const encoded = encodeURIComponent(id);
  if (encoded.length <= 255) return encoded;
  return `${encoded.slice(0, 100)}~${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

export interface StagedChunk {
  index: number;
  text: string;
  locator: string;
  locatorJson: string;
  heading?: string;
  tokens: number;
}

export interface StagedDocument {
  tenantId: string;
  documentId: string;
  version: string;
  sourceName: string;
  chunks: StagedChunk[];
}

export class StagingArea {
  constructor(private readonly root: string) {}

  /** A reference relative to the staging root: stable across hosts that mount the same data dir. */
  refFor(tenantId: string, documentId: string, version: string): string {
    return path.posix.join(encodeURIComponent(tenantId), folderName(documentId), `${version}.json`);
  }

  private resolve(ref: string): string {
    const full = path.resolve(this.root, ref);
    if (!full.startsWith(path.resolve(this.root) + path.sep)) {
      throw new GroundworkError('STAGING_INVALID_REF', 'The staging reference points outside the staging area.');
    }
    return full;
  }

  async write(doc: StagedDocument): Promise<string> {
    const ref = this.refFor(doc.tenantId, doc.documentId, doc.version);
    const file = this.resolve(ref);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(doc));
    await fs.rename(tmp, file); // atomic: a reader never sees half a file
    return ref;
  }

  async read(ref: string): Promise<StagedDocument> {
    const raw = await fs.readFile(this.resolve(ref), 'utf8').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new GroundworkError(
        'STAGING_MISSING',
        'The staged chunks of this ingestion are gone; ingest the document again.',
      );
    });
    return JSON.parse(raw) as StagedDocument;
  }

  async remove(ref: string): Promise<void> {
    await fs.rm(this.resolve(ref), { force: true });
  }

  /** Every staged version of a document (the clean-up after a failed ingestion, or a deletion); returns how many. */
  async removeDocument(tenantId: string, documentId: string): Promise<number> {
    return this.removeFolder(path.posix.join(encodeURIComponent(tenantId), folderName(documentId)));
  }

  /** Everything staged for a tenant (a tenant purge); returns how many staged versions there were. */
  async removeTenant(tenantId: string): Promise<number> {
    return this.removeFolder(encodeURIComponent(tenantId));
  }

  private async removeFolder(ref: string): Promise<number> {
    const dir = this.resolve(ref);
    const entries = await fs.readdir(dir, { recursive: true }).catch(() => [] as string[]);
    await fs.rm(dir, { recursive: true, force: true });
    return entries.filter((e) => e.endsWith('.json')).length;
  }
}
