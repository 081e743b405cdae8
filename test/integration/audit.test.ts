// The audit trail through the HTTP API and the CLI on a real stack: key creation and revocation, ingestion, deletion,
// review claims (one refused) and decisions, schedule changes are listed by GET /audit with the caller and the ids,
// the files never hold document text, questions or notes, the chain verifies, and `audit --json` prints the same.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KeyStore } from '../../client/auth/key-store';
import { main } from '../../client/cli';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { AuditLog } from '../../common/audit';
import type { AuditEntry } from '../../common/audit';
import { eventually, startHarness } from './harness';
import type { Harness } from './harness';

const TENANT = 'auditco';
const DOC_TEXT = 'The zephyr vault combination is held by Orla Quince of the lighthouse guild.';
const QUESTION = 'Who holds the zephyr vault combination?';
const NOTE = 'Checked against the lighthouse guild ledger.';

let h: Harness;
let api: HttpApi;
const keys: Record<string, { key: string; keyId: string }> = {};

beforeAll(async () => {
  // A threshold of 1 sends every answer of the tenant to review.
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: `${TENANT}=1` });
  api = await startHttpApi(h.config, { port: 0 });
  const root = await KeyStore.forDataDir(h.dataDir).create({ tenant: '*', role: 'admin', name: 'root' });
  keys.root = { key: root.key, keyId: root.info.keyId };
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

async function call<T = unknown>(
  method: string,
  url: string,
  key: string,
  body?: unknown,
  type = 'application/json',
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${api.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': type } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function createKey(name: string, role: string, tenant = TENANT) {
  const r = await call<{ key: string; keyId: string }>('POST', '/v1/keys', keys.root!.key, { tenant, role, name });
  expect(r.status).toBe(201);
  keys[name] = { key: r.body.key, keyId: r.body.keyId };
  return keys[name]!;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** Runs the CLI in this process against the harness's data dir; returns its exit code and stdout. */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const previous = process.env.GROUNDWORK_DATA_DIR;
  process.env.GROUNDWORK_DATA_DIR = h.dataDir;
  let stdout = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'groundwork', ...args]);
    return { code, stdout };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
    if (previous === undefined) delete process.env.GROUNDWORK_DATA_DIR;
    else process.env.GROUNDWORK_DATA_DIR = previous;
  }
}

test('GET /audit lists who created keys, ingested, deleted, claimed, decided and scheduled, with the ids; no text is stored', async () => {
  const writer = await createKey('writer-bot', 'writer');
  const alice = await createKey('alice', 'reviewer');
  const bob = await createKey('bob', 'reviewer');
  const admin = await createKey('tenant-admin', 'admin');
  const other = await createKey('other-admin', 'admin', 'otherco');

  // Ingest two documents (raw body and inline JSON), delete one.
  const ingested = await call<{ status: string }>(
    'POST',
    `/v1/tenants/${TENANT}/documents?wait=true&name=vault.md`,
    writer.key,
    `# Vault\n\n${DOC_TEXT}\n`,
    'text/markdown',
  );
  expect([ingested.status, ingested.body.status]).toEqual([200, 'ingested']);
  const second = await call('POST', `/v1/tenants/${TENANT}/documents?wait=true`, writer.key, {
    name: 'old.md',
    contentBase64: Buffer.from(`# Old\n\n${DOC_TEXT} (old copy)\n`).toString('base64'),
  });
  expect(second.status).toBe(200);
  expect((await call('DELETE', `/v1/tenants/${TENANT}/documents/old.md`, writer.key)).status).toBe(200);

  // A question escalates; alice claims it in the console, bob's claim is refused, alice approves it.
  await h.client.startAsk({ tenantId: TENANT, question: QUESTION });
  const taskId = await eventually(
    async () => (await h.client.listReviews(TENANT, 'pending'))[0]?.taskId,
    90_000,
    'the review task',
  );
  const task = encodeURIComponent(taskId);
  expect((await call('POST', `/console/api/tenants/${TENANT}/tasks/${task}/claim`, alice.key, {})).status).toBe(200);
  expect((await call('POST', `/console/api/tenants/${TENANT}/tasks/${task}/claim`, bob.key, {})).status).toBe(409);
  const approved = await call('POST', `/v1/tenants/${TENANT}/reviews/${task}/approve`, alice.key, { note: NOTE });
  expect(approved.status).toBe(200);

  // Schedule changes, then a key revocation.
  const golden = [{ question: QUESTION, expectedDocuments: ['vault.md'] }];
  expect(
    (await call('PUT', `/v1/tenants/${TENANT}/evaluations/schedule`, admin.key, { golden, every: '1d' })).status,
  ).toBe(200);
  expect((await call('DELETE', `/v1/tenants/${TENANT}/evaluations/schedule`, admin.key)).status).toBe(200);
  expect((await call('DELETE', `/v1/keys/${writer.keyId}`, keys.root!.key)).status).toBe(200);

  // Who may read it: the tenant's admin and the all-tenant admin; not a writer, not another tenant's admin.
  expect((await call('GET', `/v1/tenants/${TENANT}/audit`, alice.key)).status).toBe(403);
  expect((await call('GET', `/v1/tenants/${TENANT}/audit`, other.key)).status).toBe(403);
  expect((await call('GET', `/v1/tenants/${TENANT}/audit`, keys.root!.key)).status).toBe(200);
  const page = await call<{ entries: AuditEntry[] }>('GET', `/v1/tenants/${TENANT}/audit?limit=1000`, admin.key);
  expect(page.status).toBe(200);
  const entries = page.body.entries;
  const rows = entries.map((e) => [e.action, e.outcome, e.actor.id, e.target?.kind, e.target?.id]);
  const root = `key:${keys.root!.keyId}`;
  expect(rows).toEqual([
    ['key.create', 'ok', root, 'key', writer.keyId],
    ['key.create', 'ok', root, 'key', alice.keyId],
    ['key.create', 'ok', root, 'key', bob.keyId],
    ['key.create', 'ok', root, 'key', admin.keyId],
    ['document.ingest', 'ok', `key:${writer.keyId}`, 'document', 'vault.md'],
    ['document.ingest', 'ok', `key:${writer.keyId}`, 'document', 'old.md'],
    ['document.delete', 'ok', `key:${writer.keyId}`, 'document', 'old.md'],
    ['review.claim', 'ok', `key:${alice.keyId}`, 'review', taskId],
    ['review.claim', 'refused', `key:${bob.keyId}`, 'review', taskId],
    ['review.decide', 'ok', `key:${alice.keyId}`, 'review', taskId],
    ['evaluation.schedule', 'ok', `key:${admin.keyId}`, 'schedule', `evaluate:${TENANT}`],
    ['evaluation.unschedule', 'ok', `key:${admin.keyId}`, 'schedule', `evaluate:${TENANT}`],
    ['key.revoke', 'ok', root, 'key', writer.keyId],
  ]);
  const byAction = (a: string, i = 0) => entries.filter((e) => e.action === a)[i]!;
  expect(byAction('key.create').details).toEqual({ role: 'writer', keyTenant: TENANT, keyName: 'writer-bot' });
  expect(byAction('key.create').actor).toEqual({ kind: 'key', id: root, name: 'root' });
  expect(byAction('document.ingest').details).toMatchObject({
    workflowId: `ingest:${TENANT}:vault.md`,
    sourceKind: 'blob',
  });
  expect(byAction('document.delete').details).toEqual({ workflowId: `delete:${TENANT}:old.md` });
  expect(byAction('review.claim', 1).details).toEqual({ reviewer: 'bob', code: 'REVIEW_CLAIMED' });
  expect(byAction('review.decide')).toMatchObject({
    actor: { kind: 'key', name: 'alice' },
    details: { reviewer: 'alice', decision: 'approve' },
  });
  expect(byAction('evaluation.schedule').details).toEqual({ every: '1d', questions: 1 });
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  expect(entries.every((e) => e.tenantId === TENANT && !Number.isNaN(Date.parse(e.at)))).toBe(true);

  // Filters and paging over HTTP.
  const decided = await call<{ entries: AuditEntry[] }>(
    'GET',
    `/v1/tenants/${TENANT}/audit?action=review.claim&from=1h`,
    admin.key,
  );
  expect(decided.body.entries.map((e) => e.outcome)).toEqual(['ok', 'refused']);
  const first = await call<{ entries: AuditEntry[]; nextCursor?: string }>(
    'GET',
    `/v1/tenants/${TENANT}/audit?limit=5`,
    admin.key,
  );
  expect(first.body.entries).toHaveLength(5);
  const next = await call<{ entries: AuditEntry[] }>(
    'GET',
    `/v1/tenants/${TENANT}/audit?limit=5&cursor=${first.body.nextCursor}`,
    admin.key,
  );
  expect(next.body.entries.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
  expect((await call('GET', `/v1/tenants/${TENANT}/audit?limit=0`, admin.key)).status).toBe(400);
  expect((await call('GET', `/v1/tenants/${TENANT}/audit?action=document.read`, admin.key)).status).toBe(400);

  // The all-tenant root key's own creation is in the reserved log.
  const global = await AuditLog.forDataDir(h.dataDir).query('*');
  expect(global.entries.map((e) => [e.action, e.actor.kind, e.target?.id])).toEqual([
    ['key.create', 'system', keys.root!.keyId],
  ]);

  // Not a byte of document text, the question, the review note or a key secret in the audit files.
  const files = await filesUnder(path.join(h.dataDir, 'audit'));
  expect(files.filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThanOrEqual(2);
  const bytes = Buffer.concat(await Promise.all(files.map((f) => fs.readFile(f)))).toString('utf8');
  for (const secret of [
    'zephyr',
    'Orla Quince',
    'lighthouse',
    QUESTION,
    NOTE,
    // A key's secret: what follows gw_<keyId>_ (it may contain "_" itself).
    ...Object.values(keys).map((k) => k.key.slice('gw_0123456789abcdef_'.length)),
  ])
    expect([secret, bytes.includes(secret)]).toEqual([secret, false]);
  expect(await AuditLog.forDataDir(h.dataDir).verify(TENANT)).toMatchObject({ ok: true, entries: entries.length });

  // The CLI prints the same entries, and records its own actions as the operator.
  const listed = await cli(['--json', 'audit', '--tenant', TENANT, '--since', '1d']);
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout) as { entries: AuditEntry[] }).entries).toEqual(entries);
  const verified = await cli(['--json', 'audit', 'verify', '--tenant', TENANT]);
  expect([verified.code, JSON.parse(verified.stdout)]).toEqual([0, expect.objectContaining({ ok: true })]);
  const created = await cli(['--json', 'keys', 'create', '--tenant', TENANT, '--role', 'reader', '--name', 'cli-key']);
  expect(created.code).toBe(0);
  const cliKey = JSON.parse(created.stdout) as { keyId: string };
  const afterCli = await cli(['--json', 'audit', '--tenant', TENANT, '--action', 'key.create']);
  expect((JSON.parse(afterCli.stdout) as { entries: AuditEntry[] }).entries.at(-1)).toMatchObject({
    actor: { kind: 'operator' },
    target: { kind: 'key', id: cliKey.keyId },
  });
  const text = await cli(['audit', '--tenant', TENANT, '--action', 'review.decide']);
  expect(text.stdout).toContain(`review.decide  ok  key:${alice.keyId} (alice)  review ${taskId}`);
});

test('a tenant purge is recorded with its counts, and the trail outlives the purge', async () => {
  const tenant = 'purgeco';
  const writer = await createKey('purge-writer', 'writer', tenant);
  expect(
    (
      await call('POST', `/v1/tenants/${tenant}/documents?wait=true`, writer.key, {
        name: 'gone.md',
        contentBase64: Buffer.from(`# Gone\n\n${DOC_TEXT}\n`).toString('base64'),
      })
    ).status,
  ).toBe(200);
  expect((await call('DELETE', `/v1/tenants/${tenant}`, keys.root!.key)).status).toBe(200);
  const page = await call<{ entries: AuditEntry[] }>('GET', `/v1/tenants/${tenant}/audit`, keys.root!.key);
  expect(page.body.entries.map((e) => e.action)).toEqual(['key.create', 'document.ingest', 'tenant.purge']);
  expect(page.body.entries[2]).toMatchObject({
    actor: { kind: 'key', id: `key:${keys.root!.keyId}`, name: 'root' },
    target: { kind: 'tenant', id: tenant },
    details: { workflowId: `purge:${tenant}`, documents: 1, reviewTasks: 0, schedule: false },
  });
});

test('audit verify through the CLI exits 1 and names the line after a tampered entry', async () => {
  const file = path.join(h.dataDir, 'audit', TENANT, `${new Date().toISOString().slice(0, 7)}.jsonl`);
  const original = await fs.readFile(file, 'utf8');
  try {
    await fs.writeFile(file, original.replace('"role":"writer"', '"role":"admin"'));
    const r = await cli(['--json', 'audit', 'verify', '--tenant', TENANT]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, broken: { line: 2, reason: 'hash_mismatch' } });
  } finally {
    await fs.writeFile(file, original);
  }
});
