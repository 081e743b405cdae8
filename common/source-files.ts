// Reading document bytes from the file system without trusting it: a byte budget instead of `stat` sizes (files in
// /proc report 0 bytes and never end), regular files only (a FIFO or /dev/zero would hang or never end), and `path`
// sources confined to `<ingest root>/<tenant>/` after every symlink is resolved.
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { GroundworkError } from './errors';
import { assertTenantId } from './ids';

const READ_CHUNK = 64 * 1024;

export const fileTooLarge = (maxBytes: number): GroundworkError =>
  new GroundworkError(
    'FILE_TOO_LARGE',
    `The file is larger than the ${maxBytes >= 1048576 ? `${Math.round(maxBytes / 1048576)} MB` : `${maxBytes}-byte`} limit.`,
  );

const notRegular = (): GroundworkError =>
  new GroundworkError('SOURCE_NOT_FOUND', 'The source file does not exist or is not a regular file.');

/**
 * Reads at most `maxBytes` from an open file: one byte more than the limit is the proof that it is too large, whatever
 * `stat` claimed. Refuses anything but a regular file.
 */
export async function readBounded(handle: FileHandle, maxBytes: number): Promise<Buffer> {
  const stat = await handle.stat();
  if (!stat.isFile()) throw notRegular();
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    // Never ask for more than the budget plus the one byte that proves the file too large.
    const want = Math.min(READ_CHUNK, maxBytes + 1 - total);
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(buffer, 0, want, null).catch((err: unknown) => {
      // Pseudo-files refuse reads of some sizes (/proc/self/pagemap: EINVAL unless a multiple of 8 bytes).
      if ((err as NodeJS.ErrnoException).code === 'EINVAL' || (err as NodeJS.ErrnoException).code === 'EISDIR')
        throw new GroundworkError('SOURCE_UNREADABLE', 'The source file cannot be read as a document.');
      throw err;
    });
    if (bytesRead === 0) break;
    parts.push(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) throw fileTooLarge(maxBytes);
  }
  return Buffer.concat(parts, total);
}

/**
 * Opens a file for reading without following a symlink in its last component and without blocking on a FIFO, then
 * reads it within the budget.
 */
export async function readRegularFile(file: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EISDIR') throw notRegular();
    throw err;
  }
  try {
    return await readBounded(handle, maxBytes);
  } finally {
    await handle.close();
  }
}

export const pathNotAllowed = (): GroundworkError =>
  new GroundworkError(
    'PATH_NOT_ALLOWED',
    'Paths may only name files below the ingest root of their tenant (GROUNDWORK_INGEST_ROOTS/<tenant>/); upload the file instead.',
  );

/** True when `child` lies strictly below `parent` (both absolute and normalised). */
function isBelow(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The real path of a `path` source when it may be read for the tenant: ingest roots are configured, and the path,
 * with every symlink resolved, lies below `<root>/<tenant>/` of one of them. Otherwise PATH_NOT_ALLOWED (never
 * retried). A path that is not even nominally below a tenant folder is refused before the file system is touched, so
 * the answer does not reveal whether files elsewhere exist. The HTTP API may call this up front; prepareDocument
 * calls it again before reading.
 */
export async function resolveIngestPath(roots: readonly string[], tenantId: string, file: string): Promise<string> {
  assertTenantId(tenantId);
  if (roots.length === 0 || !path.isAbsolute(file)) throw pathNotAllowed();
  const wanted = path.resolve(file);
  const nominal = roots.filter((root) => isBelow(path.join(path.resolve(root), tenantId), wanted));
  if (nominal.length === 0) throw pathNotAllowed();
  const real = await fs.realpath(wanted).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw notRegular();
    throw err;
  });
  for (const root of nominal) {
    // The root itself may sit behind a symlink (/tmp on macOS): compare real paths with real paths.
    const tenantDir = await fs.realpath(path.join(path.resolve(root), tenantId)).catch(() => undefined);
    if (tenantDir && isBelow(tenantDir, real)) return real;
  }
  throw pathNotAllowed();
}

/**
 * Reads a `path` source for a tenant: confined by resolveIngestPath, opened without following a final symlink, and,
 * where /proc shows which file the descriptor really is (Linux), checked again after opening, so a component swapped
 * for a symlink between the check and the open is caught.
 */
export async function readIngestPath(
  roots: readonly string[],
  tenantId: string,
  file: string,
  maxBytes: number,
): Promise<Buffer> {
  const real = await resolveIngestPath(roots, tenantId, file);
  let handle: FileHandle;
  try {
    handle = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw pathNotAllowed();
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw notRegular();
    throw err;
  }
  try {
    const opened = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (opened !== undefined && opened !== real) await resolveIngestPath(roots, tenantId, opened);
    return await readBounded(handle, maxBytes);
  } finally {
    await handle.close();
  }
}
