// Claims, notifications and asking without hanging: a reviewer claims a task (a Workflow Update with a validator)
// before deciding it; the claim lapses or is released; a webhook hears of opened tasks; an ask that escalates returns
// at once with the task, and only an identical request joins a run in flight.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;
let api: HttpApi;
let hook: http.Server;
const deliveries: { body: Record<string, unknown>; at: number }[] = [];
let failuresLeft = 1;

beforeAll(async () => {
  // A Slack-like webhook that fails its first delivery (500), so the retry with backoff is exercised.
  hook = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        res.writeHead(500).end('down');
        return;
      }
      deliveries.push({ body: JSON.parse(raw) as Record<string, unknown>, at: Date.now() });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  // The notification activity gets its settings from the worker's configuration.
  h = await startHarness({
    GROUNDWORK_REVIEW_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
    GROUNDWORK_TENANT_THRESHOLDS: 'claimco=1,askco=1',
    GROUNDWORK_REVIEW_CLAIM_TIMEOUT: '3s',
    GROUNDWORK_REVIEW_CONSOLE_URL: 'http://console.example/console/',
  });
  const file = await writeTemp(
    h.dataDir,
    'claimco/policy.md',
    '# Policy\n\nParking spaces are assigned by the facilities team.\n\nThe office closes at 19:00 on Fridays.\n',
  );
  await h.client.ingest({ tenantId: 'claimco', documentId: 'policy.md', source: { kind: 'path', path: file } });
  // askco: the same policy, without the corrections the claimco tests record.
  const copy = await writeTemp(h.dataDir, 'askco/policy.md', await fs.readFile(file));
  await h.client.ingest({ tenantId: 'askco', documentId: 'policy.md', source: { kind: 'path', path: copy } });
  api = await startHttpApi(h.config, { port: 0 });
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
  await new Promise((r) => hook?.close(r));
});

test('an ask that escalates returns at once with the task and a console link; waitReview waits', async () => {
  const started = Date.now();
  const r = await h.client.askUntilEscalated({ tenantId: 'claimco', question: 'Who assigns parking spaces?' });
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(r).toMatchObject({ status: 'escalated', reviewTaskId: expect.stringMatching(/^review:claimco:/) });
  if (r.status !== 'escalated') throw new Error('not escalated');
  expect(r.reviewUrl).toBe(`http://console.example/console/#/t/claimco/task/${encodeURIComponent(r.reviewTaskId)}`);

  // Asked again, identical: joins the same run; with --no-escalate (other options): a run of its own, answered.
  const again = await h.client.askUntilEscalated({ tenantId: 'claimco', question: 'Who assigns parking spaces?' });
  expect(again).toMatchObject({ status: 'escalated', workflowId: r.workflowId, reviewTaskId: r.reviewTaskId });
  const direct = await h.client.askUntilEscalated({
    tenantId: 'claimco',
    question: 'Who assigns parking spaces?',
    escalate: false,
  });
  expect(direct.workflowId).not.toBe(r.workflowId);
  expect(direct.status).not.toBe('escalated');

  // The webhook heard of the task (after one failed delivery, retried), with a link and without the question.
  const delivery = await eventually(async () =>
    deliveries.find((d) => JSON.stringify(d.body).includes(encodeURIComponent(r.reviewTaskId))),
  );
  expect(String(delivery.body.text)).toContain('needs a reviewer');
  expect(JSON.stringify(delivery.body)).not.toContain('parking');
  expect(failuresLeft).toBe(0);

  // Waiting for the review: decided meanwhile, the reviewed answer comes back.
  const waiting = h.client.askUntilEscalated(
    { tenantId: 'claimco', question: 'Who assigns parking spaces?' },
    { waitReview: true },
  );
  await h.client.approve('claimco', r.reviewTaskId, 'rita');
  await expect(waiting).resolves.toMatchObject({ status: 'reviewed', workflowId: r.workflowId });
});

test('a claim keeps other reviewers out until it is released or lapses', async () => {
  const r = await h.client.askUntilEscalated({ tenantId: 'claimco', question: 'When does the office close?' });
  if (r.status !== 'escalated') throw new Error('not escalated');
  const taskId = r.reviewTaskId;

  const claim = await h.client.claim('claimco', taskId, 'lee');
  expect(claim).toMatchObject({ reviewerId: 'lee' });
  expect((await h.client.getReview('claimco', taskId)).claim).toMatchObject({ reviewerId: 'lee' });
  await expect(h.client.claim('claimco', taskId, 'kim')).rejects.toMatchObject({
    code: 'REVIEW_CLAIMED',
    message: expect.stringContaining('claimed by lee'),
  });
  await expect(h.client.approve('claimco', taskId, 'kim')).rejects.toMatchObject({ code: 'REVIEW_CLAIMED' });
  await expect(h.client.release('claimco', taskId, 'kim')).rejects.toMatchObject({ code: 'REVIEW_CLAIMED' });
  await expect(h.client.claim('otherco', taskId, 'lee')).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });

  expect(await h.client.release('claimco', taskId, 'lee')).toEqual({ released: true });
  expect((await h.client.getReview('claimco', taskId)).claim).toBeUndefined();
  await h.client.claim('claimco', taskId, 'kim');

  // The claim lapses after GROUNDWORK_REVIEW_CLAIM_TIMEOUT (3 s here): then lee may take it.
  await eventually(async () => (await h.client.getReview('claimco', taskId)).claim === undefined, 15_000, 'lapse');
  await h.client.claim('claimco', taskId, 'lee');
  const outcome = await h.client.reject('claimco', taskId, 'lee', 'The draft misses the time.');
  expect(outcome).toMatchObject({ decision: 'rejected', reviewerId: 'lee' });
  await expect(h.client.claim('claimco', taskId, 'kim')).rejects.toMatchObject({
    code: 'REVIEW_CLOSED',
    message: expect.stringContaining('already rejected by lee'),
  });
});

test('HTTP ?wait=true and the CLI answer "escalated" at once; waitReview waits; GET /answers reports the outcome', async () => {
  const { key } = await KeyStore.forDataDir(h.dataDir).create({ tenant: 'askco', role: 'writer', name: 'svc' });
  const ask = (query: string, question: string) =>
    fetch(`${api.url}/v1/tenants/askco/questions${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ question }),
    });
  const started = Date.now();
  const res = await ask('?wait=true', 'Who assigns parking spaces?');
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: string; workflowId: string; reviewTaskId: string; reviewUrl: string };
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(body).toMatchObject({ status: 'escalated', reviewTaskId: expect.stringMatching(/^review:askco:/) });
  expect(body.reviewUrl).toBe(`http://console.example/console/#/t/askco/task/${encodeURIComponent(body.reviewTaskId)}`);
  const progress = await fetch(`${api.url}/v1/tenants/askco/answers/${encodeURIComponent(body.workflowId)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(await progress.json()).toMatchObject({ done: false, progress: { stage: 'awaiting_review' } });

  // The CLI, the same way (it needs dist/: npm test builds first).
  const bin = path.resolve(__dirname, '..', '..', 'bin', 'groundwork.js');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [bin, '--json', 'ask', '--tenant', 'askco', 'Who assigns parking spaces?'],
    {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: h.config.temporal.address,
        TEMPORAL_TASK_QUEUE: h.taskQueue,
        GROUNDWORK_DATA_DIR: h.dataDir,
      },
      timeout: 60_000,
    },
  );
  expect(JSON.parse(stdout)).toMatchObject({
    status: 'escalated',
    workflowId: body.workflowId,
    reviewTaskId: body.reviewTaskId,
    reviewUrl: expect.stringContaining('/console/#/t/askco/task/'),
  });

  // waitReview=true waits; the decision arrives meanwhile and the reviewed answer comes back.
  const waiting = ask('?wait=true&waitReview=true', 'Who assigns parking spaces?');
  await new Promise((r) => setTimeout(r, 500));
  await h.client.approve('askco', body.reviewTaskId, 'rita');
  const reviewed = await waiting;
  expect(await reviewed.json()).toMatchObject({ status: 'reviewed', workflowId: body.workflowId });
  const done = await fetch(`${api.url}/v1/tenants/askco/answers/${encodeURIComponent(body.workflowId)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(await done.json()).toMatchObject({
    done: true,
    result: { status: 'reviewed', review: { reviewerId: 'rita' } },
  });
});
