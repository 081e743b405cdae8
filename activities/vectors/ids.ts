// Deterministic point ids: UUID v5 over tenant, document, version and chunk index,
// so a retried or repeated upsert writes the same ids and never duplicates.
import { createHash } from 'node:crypto';

/** Fixed namespace for Groundwork chunk ids (a random v4 chosen once; never change it). */
const NAMESPACE = '6f1d3c2a-8b4e-4c71-9a0e-5d2f7b9c1e34';

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidV5(name: string, namespace = NAMESPACE): string {
  const hash = createHash('sha1').update(uuidToBytes(namespace)).update(name, 'utf8').digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = ((b[6] as number) & 0x0f) | 0x50; // version 5
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function pointId(tenantId: string, documentId: string, version: string, chunkIndex: number): string {
  // Length-prefixed parts: no two different tuples can produce the same name.
  const name = [tenantId, documentId, version, String(chunkIndex)].map((p) => `${p.length}:${p}`).join('|');
  return uuidV5(name);
}
