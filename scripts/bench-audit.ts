// `npm run bench:audit -- [--entries N] [--json]`: the audit trail's costs on this disk, in a scratch data dir:
// N appends one after another and N at once (each fsync'd, under the lock file), then verify and query over all 2N.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../common/audit';
import type { AuditEntryInput } from '../common/audit';

/** `--json`: one JSON object; otherwise one figure per line. */
function report(figures: Record<string, unknown>): void {
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(24)} ${String(v)}\n`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--entries');
  const n = i > 0 ? Number(process.argv[i + 1]) : 500;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-audit-bench-'));
  try {
    const log = AuditLog.forDataDir(dir);
    const entry = (k: number): AuditEntryInput => ({
      tenantId: 'acme',
      actor: { kind: 'key', id: 'key:0123456789abcdef', name: 'ingest-bot' },
      action: 'document.ingest',
      target: { kind: 'document', id: `doc-${k}.pdf` },
      details: { workflowId: `ingest:acme:doc-${k}.pdf`, sourceKind: 'blob' },
    });
    let t = performance.now();
    for (let k = 0; k < n; k++) await log.append(entry(k));
    const sequentialMs = performance.now() - t;
    t = performance.now();
    await Promise.all(Array.from({ length: n }, (_, k) => log.append(entry(n + k))));
    const concurrentMs = performance.now() - t;
    t = performance.now();
    const verified = await log.verify('acme');
    const verifyMs = performance.now() - t;
    t = performance.now();
    const page = await log.query('acme', { action: 'document.ingest', limit: 1000 });
    const queryMs = performance.now() - t;
    const files = (await fs.readdir(path.join(dir, 'audit', 'acme'))).filter((f) => f.endsWith('.jsonl'));
    let bytes = 0;
    for (const f of files) bytes += (await fs.stat(path.join(dir, 'audit', 'acme', f))).size;
    const r = (x: number) => Math.round(x * 100) / 100;
    report({
      entries: 2 * n,
      appendSequentialMsEach: r(sequentialMs / n),
      appendConcurrentMsEach: r(concurrentMs / n),
      verifyMs: r(verifyMs),
      verifyOk: verified.ok,
      queryMsFirst1000: r(queryMs),
      returned: page.entries.length,
      bytesPerEntry: Math.round(bytes / (2 * n)),
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

void main();
