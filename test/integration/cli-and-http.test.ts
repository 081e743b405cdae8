// The faces people use: the `groundwork` CLI (as a subprocess, --json) and the HTTP API, on the real stack.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { KeyStore } from '../../client/auth/key-store';
import type { Role } from '../../client/auth/roles';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const run = promisify(execFile);
const bin = path.resolve(__dirname, '..', '..', 'bin', 'groundwork.js');
let h: Harness;
let api: HttpApi;

beforeAll(async () => {
  // revco demands near-certainty, so its answers open review tasks.
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: 'revco=0.99' });
  api = await startHttpApi(h.config, { port: 0 });
});

/** A key in the key store of the harness's data dir, which the HTTP API reads. */
async function key(tenant: string, role: Role, name?: string): Promise<string> {
  return (await KeyStore.forDataDir(h.dataDir).create({ tenant, role, name })).key;
}
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

async function cli(args: string[]): Promise<unknown> {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    GROUNDWORK_DATA_DIR: h.dataDir,
  };
  const { stdout } = await run(process.execPath, [bin, '--json', ...args], { env, timeout: 120_000 });
  return JSON.parse(stdout);
}

test('the CLI ingests a folder and answers with citations as JSON', async () => {
  await writeTemp(h.dataDir, 'clico/a.md', '# Office\n\nThe office is on the fourth floor.\n');
  await writeTemp(h.dataDir, 'clico/b.md', '# Lunch\n\nLunch is served from noon to two.\n');
  const batch = (await cli(['ingest', '--tenant', 'clico', path.join(h.dataDir, 'sources', 'clico')])) as {
    total: number;
    ingested: number;
  };
  expect(batch).toMatchObject({ total: 2, ingested: 2 });
  const answer = (await cli(['ask', '--tenant', 'clico', '--no-escalate', 'Which floor is the office on?'])) as {
    status: string;
    citations: { documentId: string }[];
  };
  expect(answer.status).toBe('answered');
  expect(answer.citations[0]!.documentId).toBe('a.md');
});

test('the CLI reports bad input as a JSON error with a code', async () => {
  await expect(cli(['ask', '--tenant', 'bad tenant!', 'What?'])).rejects.toMatchObject({
    stdout: expect.stringContaining('INVALID_INPUT'),
  });
});

test('the HTTP API ingests inline content and answers a question, with a key for the tenant', async () => {
  const [writer, admin] = [await key('httpco', 'writer'), await key('httpco', 'admin')];
  const post = (p: string, body: unknown, k = writer) =>
    fetch(`${api.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${k}` },
      body: JSON.stringify(body),
    });
  expect(
    (
      await fetch(`${api.url}/v1/tenants/httpco/questions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ question: 'Is a key needed?' }),
      })
    ).status,
  ).toBe(401);
  const ing = await post('/v1/tenants/httpco/documents?wait=true', {
    name: 'notes.md',
    contentBase64: Buffer.from('# Notes\n\nThe parking garage closes at midnight.\n').toString('base64'),
  });
  expect(ing.status).toBe(200);
  expect(await ing.json()).toMatchObject({ status: 'ingested', documentId: 'notes.md' });
  // Without escalation is for admins only.
  const question = { question: 'When does the parking garage close?', escalate: false };
  expect((await post('/v1/tenants/httpco/questions?wait=true', question)).status).toBe(403);
  const ask = await post('/v1/tenants/httpco/questions?wait=true', question, admin);
  const body = (await ask.json()) as { status: string; answer: string; workflowId: string };
  expect(body.status).toBe('answered');
  expect(body.answer).toContain('midnight');
  const again = await fetch(`${api.url}/v1/tenants/httpco/answers/${encodeURIComponent(body.workflowId)}`, {
    headers: { authorization: `Bearer ${writer}` },
  });
  expect(await again.json()).toMatchObject({ done: true });
  const bad = await post('/v1/tenants/httpco/documents?wait=true', {
    name: 'x.bin',
    contentBase64: Buffer.from([0, 1, 2, 3, 0, 0, 0, 255]).toString('base64'),
  });
  expect(bad.status).toBe(422);
  expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_TYPE');
});

test('review decisions are Updates: the CLI prints the outcome, the HTTP API answers refusals with 400, 403, 404 and 409', async () => {
  const file = await writeTemp(
    h.dataDir,
    'revco/policy.md',
    '# Policy\n\nParking spaces are assigned by the facilities team.\n',
  );
  await h.client.ingest({ tenantId: 'revco', documentId: 'policy.md', source: { kind: 'path', path: file } });
  const handle = await h.client.startAsk({ tenantId: 'revco', question: 'Who assigns parking spaces at revco?' });
  const taskId = await eventually(
    async () => (await h.client.listReviews('revco', 'pending'))[0]?.taskId,
    30_000,
    'a review task',
  );
  const url = (tenant: string, suffix = '') =>
    `${api.url}/v1/tenants/${tenant}/reviews/${encodeURIComponent(taskId)}${suffix}`;
  const [rita, sam, other, everyone] = [
    await key('revco', 'reviewer', 'rita'),
    await key('revco', 'reviewer', 'sam'),
    await key('otherco', 'reviewer', 'intruder'),
    await key('*', 'admin', 'ops'),
  ];
  const auth = (k: string) => ({ authorization: `Bearer ${k}` });
  const get = (u: string, k: string) => fetch(u, { headers: auth(k) });
  const post = (u: string, body: unknown, k: string) =>
    fetch(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(k) },
      body: JSON.stringify(body),
    });
  const error = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

  // Another tenant's reviewer is stopped by its credential; an all-tenant admin finds no such task there.
  expect(await error(await get(url('revco'), other))).toEqual([403, 'FORBIDDEN']);
  expect(await error(await post(url('revco', '/approve'), {}, other))).toEqual([403, 'FORBIDDEN']);
  expect(await error(await get(url('otherco'), everyone))).toEqual([404, 'REVIEW_NOT_FOUND']);
  expect(await error(await post(url('otherco', '/approve'), {}, everyone))).toEqual([404, 'REVIEW_NOT_FOUND']);
  expect(
    await error(
      await post(url('revco', '/edit'), { answer: 'forged', citations: [{ chunkId: 'not-retrieved' }] }, rita),
    ),
  ).toEqual([400, 'CITATION_NOT_RETRIEVED']);
  expect(((await (await get(url('revco'), rita)).json()) as { status: string }).status).toBe('open');

  const outcome = (await cli([
    'review',
    'approve',
    '--tenant',
    'revco',
    '--reviewer',
    'dana',
    '--note',
    'checked',
    taskId,
  ])) as Record<string, unknown>;
  expect(outcome).toMatchObject({ taskId, decision: 'approved', reviewerId: 'dana', note: 'checked' });
  expect(await error(await post(url('revco', '/reject'), { reason: 'too late' }, sam))).toEqual([409, 'REVIEW_CLOSED']);
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'reviewed', review: { decision: 'approved', reviewerId: 'dana' } });
});
