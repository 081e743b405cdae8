// `groundwork audit` and `audit verify` in-process over a data dir with a known log: listing (text and JSON),
// filters, the default subcommand, and verify's exit code.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../client/cli';
import { AuditLog } from '../../common/audit';
import type { AuditEntry } from '../../common/audit';

let dataDir: string;
let previous: string | undefined;
beforeEach(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-cli-audit-'));
  previous = process.env.GROUNDWORK_DATA_DIR;
  process.env.GROUNDWORK_DATA_DIR = dataDir;
});
afterEach(async () => {
  if (previous === undefined) delete process.env.GROUNDWORK_DATA_DIR;
  else process.env.GROUNDWORK_DATA_DIR = previous;
  process.exitCode = undefined;
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    stdout += c.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    stderr += c.toString();
    return true;
  });
  try {
    return { code: await main(['node', 'groundwork', ...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

async function seed(): Promise<AuditEntry[]> {
  const log = AuditLog.forDataDir(dataDir);
  return [
    await log.append({
      tenantId: 'acme',
      actor: { kind: 'key', id: 'key:00000000000000aa', name: 'alice' },
      action: 'review.decide',
      target: { kind: 'review', id: 'review:acme:abc' },
      details: { decision: 'approve', reviewer: 'alice' },
    }),
    await log.append({
      tenantId: 'acme',
      actor: { kind: 'operator', id: 'ops' },
      action: 'document.delete',
      target: { kind: 'document', id: 'handbook.pdf' },
    }),
  ];
}

test('audit --json prints the entries as stored; filters by action and actor; text has one line per entry', async () => {
  const stored = await seed();
  const all = await cli(['--json', 'audit', '--tenant', 'acme']);
  expect(all.code).toBe(0);
  expect(JSON.parse(all.stdout)).toEqual({ entries: stored });
  const explicit = await cli(['--json', 'audit', 'list', '--tenant', 'acme', '--action', 'document.delete']);
  expect((JSON.parse(explicit.stdout) as { entries: AuditEntry[] }).entries).toEqual([stored[1]]);
  const byActor = await cli(['--json', 'audit', '--tenant', 'acme', '--actor', 'key:00000000000000aa']);
  expect((JSON.parse(byActor.stdout) as { entries: AuditEntry[] }).entries).toEqual([stored[0]]);
  const limited = await cli(['--json', 'audit', '--tenant', 'acme', '--limit', '1']);
  expect((JSON.parse(limited.stdout) as { entries: AuditEntry[] }).entries).toEqual([stored[0]]);
  const future = await cli([
    '--json',
    'audit',
    '--tenant',
    'acme',
    '--since',
    new Date(Date.now() + 60_000).toISOString(),
  ]);
  expect(JSON.parse(future.stdout)).toEqual({ entries: [] });
  const text = await cli(['audit', '--tenant', 'acme']);
  expect(text.stdout.trimEnd().split('\n')).toEqual([
    `${stored[0]!.at}  #1  review.decide  ok  key:00000000000000aa (alice)  review review:acme:abc  decision=approve  reviewer=alice`,
    `${stored[1]!.at}  #2  document.delete  ok  operator:ops  document handbook.pdf`,
  ]);
});

test('audit refuses a bad tenant, action or time with a typed error', async () => {
  const badTenant = await cli(['--json', 'audit', '--tenant', 'bad tenant!']);
  expect(badTenant.code).not.toBe(0);
  const badSince = await cli(['--json', 'audit', '--tenant', 'acme', '--since', 'last tuesday-ish']);
  expect(badSince.code).not.toBe(0);
  const badAction = await cli(['audit', '--tenant', 'acme', '--action', 'document.read']);
  expect(badAction.code).not.toBe(0);
});

test('audit verify reports an intact chain, and exits 1 naming the first broken line after tampering', async () => {
  await seed();
  const ok = await cli(['--json', 'audit', 'verify', '--tenant', 'acme']);
  expect([ok.code, JSON.parse(ok.stdout)]).toEqual([0, expect.objectContaining({ ok: true, entries: 2 })]);
  const file = path.join(dataDir, 'audit', 'acme', `${new Date().toISOString().slice(0, 7)}.jsonl`);
  await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('approve', 'reject'));
  const broken = await cli(['--json', 'audit', 'verify', '--tenant', 'acme']);
  expect(broken.code).toBe(1);
  expect(JSON.parse(broken.stdout)).toMatchObject({
    ok: false,
    entries: 1,
    broken: { line: 2, reason: 'hash_mismatch' },
  });
  const text = await cli(['audit', 'verify', '--tenant', 'acme']);
  expect(text.stdout).toContain('broken at');
});
