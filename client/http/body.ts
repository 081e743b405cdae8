// Request bodies: JSON read under a size limit and validated with zod, with typed errors (413, 400).
import type http from 'node:http';
import type { z } from 'zod';
import { HttpError } from './errors';

/** JSON request bodies are at most this large unless a route says otherwise. */
export const MAX_JSON_BODY = 512 * 1024;

/** Reads and parses a JSON body of at most `max` bytes (413 beyond, 400 when malformed or cut short). */
export async function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  const tooLarge = () =>
    new HttpError(413, 'BODY_TOO_LARGE', `Request bodies are limited to ${max} bytes.`, { connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > max) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client stopped sending (aborted, reset, timed out): its fault, not a server error.
    throw new HttpError(400, 'BODY_INCOMPLETE', 'The request body ended early.', { connection: 'close' });
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'The request body is not valid JSON.');
  }
}

export function validate<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new HttpError(
      400,
      'INVALID_INPUT',
      r.error.issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; '),
    );
  return r.data;
}
