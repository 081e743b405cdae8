// receiveUpload behind a tiny node:http server, fed by real HTTP requests: multipart and raw bodies stream into the
// blob store; missing files, malformed multipart and bodies past the limit are refused with their codes.
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { LocalBlobStore } from '../../common/blob-store';
import { GroundworkError } from '../../common/errors';
import { receiveUpload } from '../../common/uploads';

const LIMIT = 64 * 1024;
let dir: string;
let store: LocalBlobStore;
let server: http.Server;
let base: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-uploads-'));
  store = new LocalBlobStore(dir);
  server = http.createServer((req, res) => {
    const tenantId = new URL(req.url ?? '/', 'http://x').pathname.split('/')[1] ?? '';
    receiveUpload(req, { tenantId, store, maxBytes: LIMIT }).then(
      (upload) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(upload));
      },
      (err: unknown) => {
        const code = err instanceof GroundworkError ? err.code : 'ERROR';
        const status = code === 'FILE_TOO_LARGE' ? 413 : err instanceof GroundworkError ? 400 : 500;
        res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: { code, message: err instanceof Error ? err.message : String(err) } }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fs.rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const blobsOf = async (tenant: string) => (await fs.readdir(path.join(dir, tenant)).catch(() => [] as string[])).sort();

async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${url}`, { method: 'POST', ...init });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function multipart(
  parts: { name: string; filename?: string; content: string | Buffer }[],
  boundary = 'XyZ123boundary',
) {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\n` +
          (p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : '') +
          '\r\n',
      ),
      Buffer.from(p.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

test('a multipart upload streams its file into the blob store and returns the option fields', async () => {
  const content = '# Handbook\n\nFull-time employees receive 25 vacation days.\n';
  const form = multipart([
    { name: 'documentId', content: 'handbook' },
    { name: 'file', filename: '報告 2024.md', content },
    { name: 'includeHiddenSheets', content: 'true' },
    { name: 'chunkAcrossPages', content: 'false' },
    { name: 'note', content: 'kept for the caller' },
  ]);
  const { status, json } = await send('/acme', form);
  expect(status).toBe(200);
  expect(json).toEqual({
    name: '報告 2024.md',
    blob: { ref: `blob:acme/${sha256(content)}`, sha256: sha256(content), bytes: Buffer.byteLength(content) },
    fields: {
      documentId: 'handbook',
      includeHiddenSheets: true,
      chunkAcrossPages: false,
      extra: { note: 'kept for the caller' },
    },
  });
  expect(await fs.readFile(path.join(dir, 'acme', sha256(content)), 'utf8')).toBe(content);
});

test('a raw body is the file, named by ?name=, with options as query parameters', async () => {
  const content = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d, 1, 2, 3]);
  const { status, json } = await send('/acme?name=scan.pdf&chunkAcrossPages=1&documentId=scan', {
    headers: { 'content-type': 'application/pdf' },
    body: content,
  });
  expect(status).toBe(200);
  expect(json).toMatchObject({
    name: 'scan.pdf',
    blob: { ref: `blob:acme/${sha256(content)}`, bytes: 8 },
    fields: { documentId: 'scan', chunkAcrossPages: true, extra: {} },
  });
});

test('a file name with a path keeps only its last segment', async () => {
  const { json } = await send('/acme?name=..%2F..%2Fetc%2Fpasswd', { body: 'x' });
  expect(json).toMatchObject({ name: 'passwd' });
  const form = multipart([{ name: 'file', filename: 'C:\\Users\\dana\\notes.txt', content: 'notes' }]);
  expect((await send('/acme', form)).json).toMatchObject({ name: 'notes.txt' });
});

test('a body past the limit is refused with FILE_TOO_LARGE (413) and leaves no file, raw or multipart', async () => {
  const before = await blobsOf('bigco');
  const big = Buffer.alloc(LIMIT + 1, 0x61);
  const raw = await send('/bigco?name=big.txt', { body: big });
  expect(raw).toMatchObject({ status: 413, json: { error: { code: 'FILE_TOO_LARGE' } } });
  const form = multipart([{ name: 'file', filename: 'big.txt', content: big }]);
  expect(await send('/bigco', form)).toMatchObject({ status: 413, json: { error: { code: 'FILE_TOO_LARGE' } } });
  expect(await blobsOf('bigco')).toEqual(before);
});

test('a chunked body without Content-Length is still cut off at the limit', async () => {
  const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${base}/chunkco?name=stream.txt`, { method: 'POST' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (let i = 0; i < 20; i++) req.write(Buffer.alloc(8 * 1024, 0x62)); // 160 KB in chunks, no length
    req.end();
  });
  expect(status.status).toBe(413);
  expect(JSON.parse(status.body)).toMatchObject({ error: { code: 'FILE_TOO_LARGE' } });
  expect(await blobsOf('chunkco')).toEqual([]);
});

test('a form without a file part is MISSING_FILE', async () => {
  const form = multipart([{ name: 'documentId', content: 'x' }]);
  expect(await send('/acme', form)).toMatchObject({ status: 400, json: { error: { code: 'MISSING_FILE' } } });
  // A part named "file" without a file name is a plain field, not a file.
  const field = multipart([{ name: 'file', content: 'not a file' }]);
  expect(await send('/acme', field)).toMatchObject({ status: 400, json: { error: { code: 'MISSING_FILE' } } });
});

test('malformed multipart is INVALID_MULTIPART: no boundary, a truncated body, two files', async () => {
  const noBoundary = await send('/badco', { headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
  expect(noBoundary).toMatchObject({ status: 400, json: { error: { code: 'INVALID_MULTIPART' } } });
  const form = multipart([{ name: 'file', filename: 'a.txt', content: 'some text' }]);
  const truncated = await send('/badco', { headers: form.headers, body: form.body.subarray(0, form.body.length - 30) });
  expect(truncated).toMatchObject({ status: 400, json: { error: { code: 'INVALID_MULTIPART' } } });
  const two = multipart([
    { name: 'file', filename: 'a.txt', content: 'a' },
    { name: 'file', filename: 'b.txt', content: 'b' },
  ]);
  expect(await send('/badco', two)).toMatchObject({ status: 400, json: { error: { code: 'INVALID_MULTIPART' } } });
  expect(await blobsOf('badco')).toEqual([]);
});

test('a raw body without a name, an empty file, or a bad option is refused with its code', async () => {
  expect(await send('/acme', { body: 'text' })).toMatchObject({
    status: 400,
    json: { error: { code: 'INVALID_INPUT' } },
  });
  expect(await send('/emptyco?name=e.txt', { body: '' })).toMatchObject({ json: { error: { code: 'EMPTY_FILE' } } });
  const empty = multipart([{ name: 'file', filename: 'e.txt', content: '' }]);
  expect(await send('/emptyco', empty)).toMatchObject({ json: { error: { code: 'EMPTY_FILE' } } });
  expect(await blobsOf('emptyco')).toEqual([]);
  const bad = multipart([
    { name: 'includeHiddenSheets', content: 'perhaps' },
    { name: 'file', filename: 'a.txt', content: 'a' },
  ]);
  expect(await send('/optco', bad)).toMatchObject({ status: 400, json: { error: { code: 'INVALID_INPUT' } } });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await blobsOf('optco')).toEqual([]); // the file part after the refused field is dropped, not stored
});

test('an invalid tenant never reaches the file system', async () => {
  expect(await send('/..?name=x.txt', { body: 'x' })).toMatchObject({
    status: 400,
    json: { error: { code: 'INVALID_TENANT' } },
  });
});
