// What the Qdrant adapter puts on the wire, seen by a local HTTP server standing in for Qdrant (no binary needed).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QdrantVectorStore } from '../../activities/vectors/qdrant';

describe('Qdrant requests', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{ path: string; acceptEncoding: string | undefined }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push({ path: req.url ?? '', acceptEncoding: req.headers['accept-encoding'] });
        const result = req.url?.endsWith('/points/query')
          ? { points: [] }
          : { status: 'green', config: { params: { vectors: { size: 4, distance: 'Cosine' } } }, payload_schema: {} };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ result, status: 'ok', time: 0 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  test('every request asks for an uncompressed response (compressed ones stall on delayed ACKs, see QDRANT_HEADERS)', async () => {
    const store = new QdrantVectorStore(url, undefined, 'chunks');
    expect(await store.search('acme', [1, 0, 0, 0], { limit: 10 })).toEqual([]);
    expect(seen.map((s) => s.path)).toContain('/collections/chunks/points/query');
    for (const request of seen) expect(request).toMatchObject({ acceptEncoding: 'identity' });
  });
});
