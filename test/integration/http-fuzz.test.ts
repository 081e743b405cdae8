// Fuzzing the HTTP API on the real stack, loopback only: thousands of random and malformed requests (raw sockets
// for broken request lines and headers, fetch for random methods, paths, escapes, credentials and bodies). The
// server must never answer 5xx (there are no deliberate upstream failures here), never log one, and still answer
// /healthz and authenticated requests afterwards. The seed is printed so a failure can be replayed (FUZZ_SEED).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { KeyStore } from '../../client/auth/key-store';
import { createRoutes, startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { startHarness } from './harness';
import type { Harness } from './harness';
import { prng } from '../support/prng';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const RAW_REQUESTS = 1500;
const FETCH_REQUESTS = 4000;
const CONCURRENCY = 24;
const TENANT = 'fuzzco';

let h: Harness;
let api: HttpApi;
let keys: string[];

beforeAll(async () => {
  // With a payload key: the codec endpoints are fuzzed too, and the whole stack runs encrypted.
  h = await startHarness({ GROUNDWORK_PAYLOAD_KEY: `fuzz:${randomBytes(32).toString('base64')}` });
  // A high rate limit, so random requests reach validation and handlers instead of stopping at 429.
  api = await startHttpApi(
    { ...h.config, http: { ...h.config.http, rateLimit: { perSecond: 100_000, burst: 100_000 } } },
    { port: 0 },
  );
  const store = KeyStore.forDataDir(h.dataDir);
  keys = [
    (await store.create({ tenant: TENANT, role: 'reader' })).key,
    (await store.create({ tenant: TENANT, role: 'reviewer', name: 'fuzz' })).key,
    (await store.create({ tenant: '*', role: 'admin' })).key,
  ];
});
afterAll(async () => {
  await api?.close();
  await h?.client.deleteEvaluationSchedule(TENANT).catch(() => undefined);
  await h?.stop();
});

const rnd = prng(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const chance = (p: number): boolean => rnd() < p;

const ALPHABET = 'abcXYZ019-_.~:@!$&\'()*+,;=%/?#[] \t"<>\\^`{|}é€😀\u0000\u0001\u007f\u202e';
const CHARS = Array.from(ALPHABET); // by code point: no lone surrogates
function randomString(max = 40): string {
  let s = '';
  const n = int(max);
  for (let i = 0; i < n; i++) s += pick(CHARS);
  return s;
}
const ESCAPES = [
  '%',
  '%z',
  '%zz',
  '%0',
  '%00',
  '%2F',
  '%2f',
  '%25',
  '%C3%28',
  '%E0%A4%A',
  '%FF',
  '%C0%AF',
  '%F0%9F%98%80',
  '%u0041',
];
const SEGMENTS = [
  TENANT,
  'globex',
  '*',
  '-bad',
  "a'b",
  'a'.repeat(129),
  '..',
  '.',
  '',
  'answer:fuzzco:0',
  'review:fuzzco:0',
  'x'.repeat(2000),
];

function randomSegment(): string {
  const r = rnd();
  if (r < 0.4) return pick(SEGMENTS);
  if (r < 0.7) return encodeURIComponent(randomString(20));
  if (r < 0.9) return `${randomString(6).replace(/[/?#\s%]/g, '')}${pick(ESCAPES)}`;
  return randomString(10).replace(/[\s#?]/g, '');
}

const templates = createRoutes().map((r) => r.path);
function randomPath(): string {
  const r = rnd();
  if (r < 0.7) {
    // A real route with its parameters replaced.
    return pick(templates).replace(/\{[^}]+\}/g, () => (chance(0.5) ? TENANT : randomSegment()));
  }
  if (r < 0.85) return `/${Array.from({ length: 1 + int(6) }, randomSegment).join('/')}`;
  if (r < 0.95)
    return `${pick(['/', '//', '///', '/v1/', '/v1//tenants', '/healthz/', '/../healthz'])}${randomSegment()}`;
  return `/${pick(ESCAPES)}`;
}
function randomQuery(): string {
  if (chance(0.5)) return '';
  const parts = Array.from({ length: 1 + int(4) }, () =>
    pick([
      'wait=true',
      'wait=false',
      `wait=${randomSegment()}`,
      'status=all',
      `status=${randomSegment()}`,
      'tenant=*',
      `${randomSegment()}=${randomSegment()}`,
      pick(ESCAPES),
      '&&=',
    ]),
  );
  return `?${parts.join('&')}`;
}

function randomJson(depth = 0): unknown {
  const r = rnd();
  if (depth > 4 || r < 0.3) return pick([null, true, false, 0, -1, 1e308, -0, 2 ** 53 + 1, randomString(30), '']);
  if (r < 0.5) return Array.from({ length: int(5) }, () => randomJson(depth + 1));
  const o: Record<string, unknown> = {};
  const fields = [
    'question',
    'escalate',
    'topK',
    'name',
    'contentBase64',
    'path',
    'documentId',
    'answer',
    'citations',
    'reason',
    'note',
    'reviewerId',
    'golden',
    'setBaseline',
    'every',
    'trigger',
    'tenant',
    'role',
    'payloads',
    '__proto__',
    'constructor',
    randomString(8),
  ];
  for (let i = 0; i < int(6); i++) o[pick(fields)] = randomJson(depth + 1);
  return o;
}
/** Bodies near the schemas, so validation and handlers run, not only the JSON parser. */
function plausibleBody(): unknown {
  return pick([
    { question: randomString(60), escalate: chance(0.5), topK: pick([0, 1, 5, 51, 1.5, -3]) },
    {
      name: `${randomString(10)}.md`,
      contentBase64: pick(['', '!!!', Buffer.from(randomString(200)).toString('base64')]),
    },
    { path: pick(['/etc/passwd', '../../secret', randomString(30), '']) },
    { answer: randomString(40), citations: [{ chunkId: randomString(10) }] },
    { reason: randomString(20) },
    { note: randomString(20), reviewerId: randomString(5) },
    { golden: [{ question: randomString(30), expectAnswer: chance(0.5) }], every: pick(['1d', '1x', '', '0s']) },
    {
      tenant: pick([TENANT, '*', randomString(5)]),
      role: pick(['reader', 'admin', 'root', '']),
      name: randomString(8),
    },
    { payloads: [{ metadata: { encoding: pick(['anNvbi9wbGFpbg==', '!!', '']) }, data: pick(['e30=', '%%%']) }] },
  ]);
}
function randomBody(): string | undefined {
  const r = rnd();
  if (r < 0.2) return undefined;
  if (r < 0.5) return JSON.stringify(plausibleBody());
  if (r < 0.75) return JSON.stringify(randomJson());
  if (r < 0.95)
    return pick(['{', '{"question":', 'null', '[]', '""', '\u0000', 'not json', '{"a":1}{"b":2}', randomString(100)]);
  return JSON.stringify({ question: 'x'.repeat(600 * 1024) });
}
function randomCredential(): string | undefined {
  const r = rnd();
  if (r < 0.15) return undefined;
  if (r < 0.6) return `Bearer ${pick(keys)}`;
  return pick([
    'Bearer',
    'Bearer ',
    `Bearer gw_${'0'.repeat(16)}_${'A'.repeat(43)}`,
    `Bearer ${pick(keys).slice(0, -2)}xx`,
    'Bearer gw_',
    'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    `Bearer ${'a'.repeat(9000)}`,
    'Basic Zm9vOmJhcg==',
    `Bearer ${randomString(30).replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, 'x')}`,
  ]);
}

/** Raw requests: broken request lines, headers, framing. Returns every status the server sent on the connection. */
function rawRequest(data: Buffer | string, port: number): Promise<number[]> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve([...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])));
    };
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.end(data);
  });
}

function randomRaw(): Buffer | string {
  const path = randomPath();
  const crlf = pick(['\r\n', '\n', '\r', '\r\n\r\n']);
  const method = pick([
    'GET',
    'POST',
    'PUT',
    'DELETE',
    'PATCH',
    'HEAD',
    'OPTIONS',
    'TRACE',
    'CONNECT',
    'BREW',
    'get',
    'G\u0000T',
    '',
  ]);
  const version = pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1', 'http/1.1', '']);
  const body = randomBody() ?? '';
  const headers = [
    'Host: 127.0.0.1',
    ...(chance(0.5) ? [`Authorization: ${randomCredential() ?? 'Bearer x'}`] : []),
    ...(chance(0.6)
      ? [
          `Content-Length: ${pick([String(Buffer.byteLength(body)), '0', '-1', '99999999999999999999', 'abc', `${Buffer.byteLength(body) + 10}`])}`,
        ]
      : []),
    ...(chance(0.2) ? ['Transfer-Encoding: chunked'] : []),
    ...(chance(0.1) ? ['Content-Length: 1', 'Content-Length: 2'] : []),
    ...(chance(0.1) ? [`X-Long: ${'a'.repeat(20_000)}`] : []),
    ...(chance(0.1) ? ['Bad Header', ': empty name', 'X-\u0000: nul'] : []),
    ...(chance(0.1) ? [` folded: continuation`] : []),
    'Connection: close',
  ];
  const r = rnd();
  if (r < 0.15) return Buffer.from(Array.from({ length: int(300) }, () => int(256)));
  if (r < 0.25) return `${method} ${path}${crlf}${crlf}`;
  if (r < 0.35) return `${method} ${'/a'.repeat(5000 + int(10000))} ${version}\r\nHost: x\r\n\r\n`;
  if (r < 0.45)
    return `${method} ${path} ${version}\r\n${headers.join('\r\n')}\r\n\r\n${pick(['5\r\nhello\r\n0\r\n\r\n', 'zz\r\nxx\r\n', '0\r\n\r\n', body])}`;
  if (r < 0.55) {
    // Pipelined: a valid request, then a broken one, on one connection.
    return `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${method} ${path} ${version}\r\n${headers.join(crlf)}\r\n\r\n${body}`;
  }
  return `${method} ${path}${randomQuery()} ${version}${crlf}${headers.join(crlf)}${crlf}${crlf}${body}`;
}

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

test(`${RAW_REQUESTS + FETCH_REQUESTS} random and malformed requests: no 5xx, the server keeps answering`, async () => {
  process.stderr.write(`http fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays it)\n`);
  const port = Number(new URL(api.url).port);
  const fiveHundreds: string[] = [];
  const statuses = new Map<number, number>();
  const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
  const logged: string[] = [];
  // The server logs each 5xx as one line on stderr: catch any, passing everything through.
  const write = process.stderr.write.bind(process.stderr) as (chunk: string | Uint8Array) => boolean;
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    if (String(chunk).includes('"msg":"HTTP request failed"')) logged.push(String(chunk));
    return write(chunk);
  });
  const started = Date.now();
  let timedOut = 0;
  try {
    await pool(RAW_REQUESTS, async () => {
      const data = randomRaw();
      for (const s of await rawRequest(data, port)) {
        count(s);
        if (s >= 500) fiveHundreds.push(`raw ${s}: ${JSON.stringify(String(data).slice(0, 200))}`);
      }
    });
    await pool(FETCH_REQUESTS, async () => {
      const method = pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND']);
      const target = `${randomPath()}${randomQuery()}`;
      const credential = randomCredential();
      const body = method === 'GET' || method === 'HEAD' ? undefined : randomBody();
      try {
        // Always absolute: a target such as //x stays a path on this server.
        const res = await fetch(`${api.url}${target}`, {
          method,
          headers: {
            ...(credential ? { authorization: credential } : {}),
            ...(body !== undefined
              ? { 'content-type': pick(['application/json', 'text/plain', 'multipart/form-data']) }
              : {}),
          },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        count(res.status);
        if (res.status >= 500) fiveHundreds.push(`${method} ${target.slice(0, 200)} → ${res.status}`);
      } catch (err) {
        // Headers fetch itself refuses to send, or a wait=true that outlives the timeout: not an answer of ours.
        if ((err as Error).name === 'TimeoutError') timedOut++;
      }
    });
  } finally {
    spy.mockRestore();
  }
  process.stderr.write(
    `http fuzz: ${RAW_REQUESTS + FETCH_REQUESTS} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ${timedOut} timed out\n`,
  );
  expect(fiveHundreds).toEqual([]);
  expect(logged).toEqual([]);
  expect(timedOut).toBeLessThan(20);
  // Many kinds of answers, not one status for everything.
  // (413 is rare at random since documents take streamed uploads of any type: it is checked on its own below.)
  expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401, 403, 404, 405]));

  const health = await fetch(`${api.url}/healthz`);
  expect([health.status, await health.json()]).toEqual([200, { ok: true }]);
  const answer = await fetch(`${api.url}/v1/tenants/${TENANT}/answers/answer%3A${TENANT}%3Anone`, {
    headers: { authorization: `Bearer ${keys[0]}` },
  });
  expect(answer.status).toBe(404);
  expect((await fetch(`${api.url}/v1/tenants/${TENANT}/reviews`)).status).toBe(401);
  const tooLarge = await fetch(`${api.url}/v1/tenants/${TENANT}/questions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'x'.repeat(600 * 1024) }),
  });
  expect(tooLarge.status).toBe(413);
}, 120_000);
