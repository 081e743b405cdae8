// The deployment's shared state as objects under '/'-separated keys: uploaded blobs, staged chunks, the document
// registry, corpus generations, evaluation state and review source views. Every worker host and client of one
// deployment must see the same objects, so none of them may live only on one host's disk:
// - `LocalObjectStore` keeps objects as files under a folder (GROUNDWORK_DATA_DIR). One host, or a folder every host
//   mounts (NFS): the same layout the stores used before they went through this interface.
// - `S3ObjectStore` (common/s3-object-store.ts) keeps them in an S3-compatible bucket when S3_ENDPOINT/S3_BUCKET are
//   set (AWS S3, MinIO, …).
// The interface has no append and no rename: S3 has neither. Append-only logs are one object per record instead.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GroundworkError } from './errors';
import { fileTooLarge, readRegularFile } from './source-files';

export interface ObjectStore {
  /** The object's bytes; undefined when there is none. With `maxBytes`, more than that is refused (FILE_TOO_LARGE). */
  get(key: string, options?: { maxBytes?: number }): Promise<Buffer | undefined>;
  /** Writes the whole object at once: a reader sees the old object or the new one, never a part. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Moves a local file into the store under `key` (the file is consumed): how large uploads enter it. */
  putFile(key: string, file: string): Promise<void>;
  /** True when something was deleted. */
  delete(key: string): Promise<boolean>;
  /** Every key below `prefix` (a folder: `a/b` lists `a/b/…`), at any depth, in lexical order. */
  list(prefix: string): Promise<string[]>;
  /** Deletes every key below `prefix`; returns how many there were. */
  deletePrefix(prefix: string): Promise<number>;
  /** Where a store is, for a log line or an error: never a credential. */
  readonly description: string;
}

const SEGMENT = /^[A-Za-z0-9._~%@+=,:!*'()-]+$/;

/**
 * Keys are relative, '/'-separated, with no empty, `.` or `..` segment, so no key can name something outside its
 * store (OBJECT_KEY_INVALID otherwise). Callers encode user-supplied ids (encodeURIComponent) before building keys.
 */
export function assertObjectKey(key: string): void {
  const segments = key.split('/');
  if (key.length === 0 || key.length > 1024 || segments.some((s) => s === '.' || s === '..' || !SEGMENT.test(s)))
    throw new GroundworkError('OBJECT_KEY_INVALID', 'The object key is not valid.');
}

/** `prefix/key` for a store that keeps one kind of object below a prefix of another. */
export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join('/');
}

/** A view of `store` with every key below `prefix`. */
export function scopedStore(store: ObjectStore, prefix: string): ObjectStore {
  assertObjectKey(prefix);
  const strip = (key: string): string => key.slice(prefix.length + 1);
  return {
    description: `${store.description}/${prefix}`,
    get: (key, options) => store.get(joinKey(prefix, key), options),
    put: (key, body) => store.put(joinKey(prefix, key), body),
    putFile: (key, file) => store.putFile(joinKey(prefix, key), file),
    delete: (key) => store.delete(joinKey(prefix, key)),
    list: async (p) => (await store.list(joinKey(prefix, p))).map(strip),
    deletePrefix: (p) => store.deletePrefix(joinKey(prefix, p)),
  };
}

/** The one "too large" error of every store (FILE_TOO_LARGE), as for files read from disk. */
export const objectTooLarge = fileTooLarge;

/** Objects as files below `root`; writes go to a temporary name first and are renamed into place. */
export class LocalObjectStore implements ObjectStore {
  readonly description = 'local folder';

  constructor(readonly root: string) {}

  private file(key: string): string {
    assertObjectKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async get(key: string, options: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
    const file = this.file(key);
    // Regular files only, never through a symlink, read within the budget (source-files.ts).
    if (options.maxBytes !== undefined)
      return readRegularFile(file, options.maxBytes).catch((err: unknown) => {
        if (err instanceof GroundworkError && err.code === 'SOURCE_NOT_FOUND') return undefined;
        throw err;
      });
    try {
      return await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw err;
    }
  }

  private tmpBeside(file: string): string {
    return path.join(
      path.dirname(file),
      `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = this.tmpBeside(file);
    try {
      await fs.writeFile(tmp, body, { mode: 0o600 });
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async putFile(key: string, source: string): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    try {
      await fs.rename(source, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Another file system: copy beside the target, then rename into place.
      const tmp = this.tmpBeside(file);
      try {
        await fs.copyFile(source, tmp);
        await fs.rename(tmp, file);
      } finally {
        await fs.rm(tmp, { force: true });
        await fs.rm(source, { force: true });
      }
    }
  }

  async delete(key: string): Promise<boolean> {
    const file = this.file(key);
    try {
      await fs.unlink(file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      if (code === 'EISDIR') return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const dir = this.file(prefix);
    const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    const keys: string[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith('.')) continue; // dot files: writes in progress
      const rel = path.relative(dir, path.join(entry.parentPath, entry.name));
      const key = joinKey(prefix, rel.split(path.sep).join('/'));
      try {
        assertObjectKey(key);
      } catch {
        continue; // a file no key can name (written by something else)
      }
      keys.push(key);
    }
    return keys.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    // Only a folder: an object whose key is the prefix itself is not below it (S3 keeps it too).
    const dir = this.file(prefix);
    if ((await fs.stat(dir).catch(() => undefined))?.isDirectory()) await fs.rm(dir, { recursive: true, force: true });
    return keys.length;
  }
}
