// Content hash used to version documents: the same bytes always give the same version.
import { createHash } from 'node:crypto';

/** SHA-256 of the bytes, lowercase hex (64 characters). */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
