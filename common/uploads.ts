// Streaming request-body receivers for document uploads: the body goes straight into the blob store (hashed on the
// way, refused past the size limit), never into memory as a whole. Two forms:
//   - multipart/form-data: one file part named "file", plus option fields (documentId, includeHiddenSheets,
//     chunkAcrossPages; anything else is handed back in `extra`);
//   - any other Content-Type: the raw body is the file, named by `?name=`, options as query parameters.
// Every refusal is a GroundworkError with a code: MISSING_FILE, INVALID_MULTIPART, INVALID_INPUT, EMPTY_FILE,
// FILE_TOO_LARGE (413), UPLOAD_ABORTED.
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { BlobStore, StoredBlob } from './blob-store';
import { GroundworkError } from './errors';
import { fileTooLarge } from './source-files';

export interface UploadOptions {
  tenantId: string;
  store: BlobStore;
  /** The largest file accepted (GROUNDWORK_MAX_FILE_MB); one byte more is FILE_TOO_LARGE. */
  maxBytes: number;
}

export interface UploadFields {
  documentId?: string;
  includeHiddenSheets?: boolean;
  chunkAcrossPages?: boolean;
  /** Other form fields (multipart) or query parameters (raw body) as sent, for the caller to judge. */
  extra: Record<string, string>;
}

export interface ReceivedUpload {
  /** The file name as sent (last path segment, control characters removed): the document's source name. */
  name: string;
  blob: StoredBlob;
  fields: UploadFields;
}

/** Room for boundaries, part headers and option fields around the file in a multipart body. */
const MULTIPART_OVERHEAD = 1024 * 1024;
const MAX_FIELD_BYTES = 8 * 1024;
const MAX_FIELDS = 20;
const MAX_NAME_CHARS = 255;

const invalidInput = (message: string): GroundworkError => new GroundworkError('INVALID_INPUT', message);
const invalidMultipart = (message = 'The multipart/form-data body is malformed.'): GroundworkError =>
  new GroundworkError('INVALID_MULTIPART', message);

function cleanName(raw: string | null | undefined): string {
  const name = path.posix.basename((raw ?? '').replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '');
  if (!name.trim())
    throw invalidInput('The upload has no file name: send one with the file part, or as ?name= with a raw body.');
  return [...name].slice(0, MAX_NAME_CHARS).join('').normalize('NFC');
}

function flag(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  throw invalidInput(`${name} must be true or false.`);
}

/** Adds one form field or query parameter; a bad option value is refused at once. */
function addField(fields: UploadFields, key: string, value: string): void {
  if (key === 'documentId') fields.documentId = value;
  else if (key === 'includeHiddenSheets' || key === 'chunkAcrossPages') fields[key] = flag(key, value);
  else fields.extra[key] = value;
}

function declaredLength(req: IncomingMessage): number | undefined {
  const n = Number(req.headers['content-length']);
  return req.headers['content-length'] !== undefined && Number.isFinite(n) ? n : undefined;
}

/** Errors of the request stream itself (the client went away) as a typed refusal. */
function asUploadError(err: unknown): unknown {
  if (err instanceof GroundworkError) return err;
  return new GroundworkError('UPLOAD_ABORTED', 'The upload ended before the whole body arrived.');
}

/** An empty file is refused here, and its (empty) blob removed: ingesting it could only fail. */
async function refuseEmpty(store: BlobStore, blob: StoredBlob): Promise<void> {
  if (blob.bytes > 0) return;
  await store.delete(blob.ref);
  throw new GroundworkError('EMPTY_FILE', 'The uploaded file is empty.');
}

/**
 * Receives an upload into the blob store. A refused upload leaves no partial file; a bad option field that arrives
 * after a complete file part leaves that (content-addressed, possibly shared) blob in place, where purgeTenant finds
 * it. The rest of a refused request body is read and dropped, so the caller can answer; it should answer with
 * `Connection: close`.
 */
export async function receiveUpload(req: IncomingMessage, options: UploadOptions): Promise<ReceivedUpload> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const length = declaredLength(req);
  try {
    if (type.startsWith('multipart/form-data')) {
      if (length !== undefined && length > options.maxBytes + MULTIPART_OVERHEAD) throw fileTooLarge(options.maxBytes);
      return await receiveMultipart(req, options);
    }
    return await receiveRaw(req, options, length);
  } catch (err) {
    if (!req.readableEnded) {
      req.unpipe();
      req.resume();
    }
    throw err;
  }
}

async function receiveRaw(
  req: IncomingMessage,
  { tenantId, store, maxBytes }: UploadOptions,
  length: number | undefined,
): Promise<ReceivedUpload> {
  const url = new URL(req.url ?? '/', 'http://upload.invalid');
  const name = cleanName(url.searchParams.get('name'));
  const fields: UploadFields = { extra: {} };
  for (const [key, value] of url.searchParams) if (key !== 'name') addField(fields, key, value);
  if (length === 0) throw new GroundworkError('EMPTY_FILE', 'The uploaded file is empty.');
  if (length !== undefined && length > maxBytes) throw fileTooLarge(maxBytes);
  req.on('error', () => undefined); // seen by the store's reader as the stream's error; never unhandled
  const blob = await store.put(tenantId, req, { maxBytes }).catch((err: unknown) => Promise.reject(asUploadError(err)));
  await refuseEmpty(store, blob);
  return { name, blob, fields };
}

function receiveMultipart(req: IncomingMessage, { tenantId, store, maxBytes }: UploadOptions): Promise<ReceivedUpload> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // Browsers send UTF-8 file names unescaped: 報告.pdf must not arrive as Latin-1 mojibake.
      defParamCharset: 'utf8',
      limits: {
        files: 1,
        fields: MAX_FIELDS,
        parts: MAX_FIELDS + 1,
        fieldSize: MAX_FIELD_BYTES,
        // One byte past the limit reaches the store, which refuses it: the limit is enforced in one place.
        fileSize: maxBytes + 1,
        headerPairs: 50,
      },
    });
  } catch {
    return Promise.reject(invalidMultipart('The multipart/form-data body has no valid boundary.'));
  }

  return new Promise<ReceivedUpload>((resolve, reject) => {
    const fields: UploadFields = { extra: {} };
    let file: { name: string; stream: Readable; stored: Promise<StoredBlob> } | undefined;
    let failure: unknown;
    let settled = false;

    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    /** First failure wins: stop parsing, stop the file, wait until the store has cleaned up, then refuse. */
    const fail = (err: unknown): void => {
      if (failure !== undefined) return;
      failure = err;
      req.unpipe(parser);
      req.resume();
      file?.stream.destroy();
      const cleaned = file
        ? file.stored.then(
            () => undefined,
            () => undefined,
          )
        : Promise.resolve();
      void cleaned.then(() => settle(() => reject(err)));
    };

    parser.on('file', (field, stream, info) => {
      // After a refusal, parts the parser had buffered already are dropped, never stored.
      if (failure !== undefined) {
        stream.resume();
        return;
      }
      if (field !== 'file' || file) {
        stream.resume();
        fail(invalidMultipart('Send exactly one file, in a part named "file".'));
        return;
      }
      let name: string;
      try {
        name = cleanName(info.filename);
      } catch (err) {
        stream.resume();
        fail(err);
        return;
      }
      // The store attaches its reader only after creating its temp file: until then a stream error (a truncated
      // form) must not go unhandled. The reader still sees it, as the stream's stored error.
      stream.on('error', () => undefined);
      const stored = store.put(tenantId, stream, { maxBytes });
      file = { name, stream, stored };
      stored.catch((err: unknown) => fail(err instanceof GroundworkError ? err : invalidMultipart()));
    });
    parser.on('field', (field, value, info) => {
      if (info.valueTruncated || info.nameTruncated) return fail(invalidInput(`The form field ${field} is too long.`));
      try {
        addField(fields, field, value);
      } catch (err) {
        fail(err);
      }
    });
    parser.on('filesLimit', () => fail(invalidMultipart('Send exactly one file, in a part named "file".')));
    parser.on('fieldsLimit', () => fail(invalidMultipart('The form has too many fields.')));
    parser.on('partsLimit', () => fail(invalidMultipart('The form has too many parts.')));
    parser.on('error', () => fail(invalidMultipart()));
    req.on('error', () =>
      fail(new GroundworkError('UPLOAD_ABORTED', 'The upload ended before the whole body arrived.')),
    );
    parser.on('close', () => {
      if (failure !== undefined) return;
      if (!file) {
        fail(new GroundworkError('MISSING_FILE', 'The form has no file: send it in a part named "file".'));
        return;
      }
      const { name, stored } = file;
      stored
        .then(async (blob) => {
          await refuseEmpty(store, blob);
          settle(() => resolve({ name, blob, fields }));
        })
        .catch((err: unknown) => fail(err));
    });
    req.pipe(parser);
  });
}
