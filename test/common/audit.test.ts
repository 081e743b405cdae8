// The audit log on its own: append, query, hash-chain verification, tamper detection, serialized and cross-process
// appends, the details allow-list, month files.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUDIT_ALL_TENANTS, AuditLog } from '../../common/audit';
import type { AuditEntryInput } from '../../common/audit';

let dataDir: string;
beforeEach(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-audit-'));
});
afterEach(async () => {
  jest.useRealTimers();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const actor = { kind: 'key' as const, id: 'key:0123456789abcdef', name: 'ci-bot' };
const entry = (over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  tenantId: 'acme',
  actor,
  action: 'document.delete',
  target: { kind: 'document', id: 'handbook.pdf' },
  ...over,
});

const monthFile = (tenant = 'acme', month = new Date().toISOString().slice(0, 7)) =>
  path.join(dataDir, 'audit', tenant, `${month}.jsonl`);

describe('AuditLog', () => {
  test('appends entries with seq, ISO time and a hash chain, and queries them back with their actor and ids', async () => {
    const log = AuditLog.forDataDir(dataDir);
    const first = await log.append(entry({ details: { workflowId: 'delete:acme:handbook.pdf' } }));
    const second = await log.append(entry({ action: 'key.create', target: { kind: 'key', id: 'fedcba9876543210' } }));
    expect(first).toMatchObject({ seq: 1, tenantId: 'acme', outcome: 'ok', prev: '0'.repeat(64) });
    expect(new Date(first.at).toISOString()).toBe(first.at);
    const raw = await fs.readFile(monthFile(), 'utf8');
    const lines = raw.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(second.seq).toBe(2);
    expect(second.prev).toBe(
      createHash('sha256')
        .update(lines[0] as string)
        .digest('hex'),
    );

    const page = await log.query('acme');
    expect(page.entries).toEqual([first, second]);
    expect(page.nextCursor).toBeUndefined();
    expect((await log.query('acme', { action: 'key.create' })).entries.map((e) => e.seq)).toEqual([2]);
    expect((await log.query('acme', { actorId: 'someone-else' })).entries).toEqual([]);
    expect((await log.query('other')).entries).toEqual([]);
    expect(await log.verify('acme')).toMatchObject({ ok: true, entries: 2, files: 1 });
  });

  test('pages with limit and cursor and filters by time', async () => {
    const log = AuditLog.forDataDir(dataDir);
    for (let i = 0; i < 5; i++) await log.append(entry({ details: { count: i } }));
    const p1 = await log.query('acme', { limit: 2 });
    expect(p1.entries.map((e) => e.seq)).toEqual([1, 2]);
    const p2 = await log.query('acme', { limit: 2, cursor: p1.nextCursor });
    expect(p2.entries.map((e) => e.seq)).toEqual([3, 4]);
    const p3 = await log.query('acme', { limit: 2, cursor: p2.nextCursor });
    expect(p3.entries.map((e) => e.seq)).toEqual([5]);
    expect(p3.nextCursor).toBeUndefined();
    expect((await log.query('acme', { from: new Date(Date.now() + 60_000) })).entries).toEqual([]);
    expect((await log.query('acme', { to: new Date(Date.now() - 60_000) })).entries).toEqual([]);
    expect((await log.query('acme', { from: new Date(Date.now() - 60_000) })).entries).toHaveLength(5);
    await expect(log.query('acme', { limit: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(log.query('acme', { cursor: 'abc' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(log.query('acme', { from: 'yesterday-ish' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  test('refuses detail keys outside the allow-list, and text-shaped values, and writes nothing', async () => {
    const log = AuditLog.forDataDir(dataDir);
    await expect(
      log.append(entry({ details: { question: 'What is the aurora budget?' } as unknown as Record<string, string> })),
    ).rejects.toMatchObject({ code: 'INVALID_AUDIT_ENTRY' });
    await expect(log.append(entry({ details: { text: 'x' } }))).rejects.toMatchObject({ code: 'INVALID_AUDIT_ENTRY' });
    // An allowed key cannot smuggle a sentence either.
    await expect(log.append(entry({ details: { reason: 'the answer was wrong' } }))).rejects.toMatchObject({
      code: 'INVALID_AUDIT_ENTRY',
    });
    await expect(log.append(entry({ details: { count: Number.NaN } }))).rejects.toMatchObject({
      code: 'INVALID_AUDIT_ENTRY',
    });
    await expect(log.append(entry({ target: { kind: 'document', id: 'two words' } }))).rejects.toMatchObject({
      code: 'INVALID_AUDIT_ENTRY',
    });
    await expect(log.append(entry({ action: 'document.read' as never }))).rejects.toMatchObject({
      code: 'INVALID_AUDIT_ENTRY',
    });
    await expect(log.append(entry({ tenantId: '../etc' }))).rejects.toMatchObject({ code: 'INVALID_TENANT' });
    await expect(fs.stat(path.join(dataDir, 'audit', 'acme'))).rejects.toMatchObject({ code: 'ENOENT' });
    // The allowed forms pass.
    const ok = await log.append(
      entry({ details: { decision: 'approve', count: 3, setBaseline: true, reason: 'CLAIM_CONFLICT' } }),
    );
    expect(ok.details).toEqual({ decision: 'approve', count: 3, setBaseline: true, reason: 'CLAIM_CONFLICT' });
  });

  test('reports the first line whose hash no longer matches after an edit, a deletion or garbage', async () => {
    const log = AuditLog.forDataDir(dataDir);
    for (let i = 0; i < 4; i++) await log.append(entry({ details: { count: i } }));
    const file = monthFile();
    const original = await fs.readFile(file, 'utf8');

    // Edit line 2 (a count rewritten): line 3 no longer carries its hash.
    await fs.writeFile(file, original.replace('"count":1', '"count":7'));
    expect(await log.verify('acme')).toMatchObject({
      ok: false,
      entries: 2,
      broken: { file: path.basename(file), line: 3, seq: 3, reason: 'hash_mismatch' },
    });

    // Delete line 2: line 3 now follows line 1.
    const lines = original.trimEnd().split('\n');
    await fs.writeFile(file, `${[lines[0], lines[2], lines[3]].join('\n')}\n`);
    expect(await log.verify('acme')).toMatchObject({ ok: false, broken: { line: 2, seq: 3, reason: 'hash_mismatch' } });

    // Garbage in the middle.
    await fs.writeFile(file, `${[lines[0], '{not json', lines[1]].join('\n')}\n`);
    expect(await log.verify('acme')).toMatchObject({ ok: false, broken: { line: 2, reason: 'unparseable' } });

    await fs.writeFile(file, original);
    expect(await log.verify('acme')).toMatchObject({ ok: true, entries: 4 });
  });

  test('serializes concurrent appends in one process into one unbroken chain, across AuditLog instances', async () => {
    const logs = [AuditLog.forDataDir(dataDir), AuditLog.forDataDir(dataDir)];
    const stored = await Promise.all(
      Array.from({ length: 40 }, (_, i) => logs[i % 2]!.append(entry({ details: { count: i } }))),
    );
    expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await logs[0]!.verify('acme')).toMatchObject({ ok: true, entries: 40 });
  });

  test('keeps one chain when several processes append at once (lock file, one O_APPEND write per line)', async () => {
    const modulePath = path.join(__dirname, '..', '..', 'common', 'audit.ts');
    // Plain Node cannot load the TypeScript module, so each child process gets the compiled module through swc.
    const { transformFileSync } = await import('@swc/core');
    const compiled = transformFileSync(modulePath, {
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
    }).code;
    const moduleDir = path.join(dataDir, 'mod', 'common');
    await fs.mkdir(moduleDir, { recursive: true });
    // Its imports (./errors, ./ids) are compiled next to it.
    for (const dep of ['audit', 'errors', 'ids']) {
      const code =
        dep === 'audit'
          ? compiled
          : transformFileSync(path.join(path.dirname(modulePath), `${dep}.ts`), {
              jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
              module: { type: 'commonjs' },
            }).code;
      await fs.writeFile(path.join(moduleDir, `${dep}.js`), code);
    }
    const script = `
      const { AuditLog } = require(${JSON.stringify(path.join(moduleDir, 'audit.js'))});
      const log = AuditLog.forDataDir(process.argv[1]);
      (async () => {
        for (let i = 0; i < 15; i++)
          await log.append({ tenantId: 'acme', actor: { kind: 'operator', id: 'p' + process.pid }, action: 'key.revoke', details: { count: i } });
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const run = () =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['-e', script, dataDir], { stdio: 'inherit' });
        child.on('exit', (code) => resolve(code ?? 1));
      });
    const codes = await Promise.all([run(), run(), run()]);
    expect(codes).toEqual([0, 0, 0]);
    expect(await AuditLog.forDataDir(dataDir).verify('acme')).toMatchObject({ ok: true, entries: 45 });
  });

  test('writes one file per month and chains across them', async () => {
    const log = AuditLog.forDataDir(dataDir);
    jest.useFakeTimers({
      now: new Date('2026-01-31T23:59:58Z'),
      doNotFake: ['setTimeout', 'setImmediate', 'nextTick'],
    });
    await log.append(entry());
    jest.setSystemTime(new Date('2026-02-01T00:00:01Z'));
    await log.append(entry({ action: 'tenant.purge', target: { kind: 'tenant', id: 'acme' } }));
    jest.useRealTimers();
    expect((await fs.readdir(path.join(dataDir, 'audit', 'acme'))).filter((f) => f.endsWith('.jsonl')).sort()).toEqual([
      '2026-01.jsonl',
      '2026-02.jsonl',
    ]);
    expect(await log.verify('acme')).toMatchObject({ ok: true, entries: 2, files: 2 });
    const feb = await log.query('acme', { from: '2026-02-01T00:00:00Z' });
    expect(feb.entries.map((e) => e.action)).toEqual(['tenant.purge']);
    expect((await log.query('acme', { to: '2026-02-01T00:00:00Z' })).entries.map((e) => e.seq)).toEqual([1]);
    // Removing the January file breaks the chain at February's first line.
    await fs.rm(monthFile('acme', '2026-01'));
    expect(await log.verify('acme')).toMatchObject({
      ok: false,
      broken: { file: '2026-02.jsonl', line: 1, reason: 'hash_mismatch' },
    });
  });

  test(`audits keys for all tenants under ${AUDIT_ALL_TENANTS}`, async () => {
    const log = AuditLog.forDataDir(dataDir);
    const e = await log.append(entry({ tenantId: '*', action: 'key.create', target: { kind: 'key', id: 'abc' } }));
    expect(e.tenantId).toBe('*');
    expect((await log.query('*')).entries).toHaveLength(1);
    await expect(fs.readdir(path.join(dataDir, 'audit', AUDIT_ALL_TENANTS))).resolves.toHaveLength(1);
  });

  test('closes off a torn last line so the next entry is a line of its own, and verify reports the torn one', async () => {
    const log = AuditLog.forDataDir(dataDir);
    await log.append(entry());
    await fs.appendFile(monthFile(), '{"seq":2,"at":"20');
    const next = await log.append(entry());
    const lines = (await fs.readFile(monthFile(), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2] as string)).toMatchObject({ seq: next.seq });
    expect(await log.verify('acme')).toMatchObject({ ok: false, broken: { line: 2, reason: 'unparseable' } });
  });
});
