// `npm run test:faults -- [--only kill,restart,model,store] [--json]`: what production does to Groundwork, on a real
// Temporal dev server, each scenario on a scratch data dir:
//   kill     kill -9 of the worker process three times during a 100-document folder ingestion
//   restart  the dev server stopped and started again (same database file) while ingestions and asks run
//   model    the embedding endpoint answers 429 with retry-after, then 500, then hangs past the request timeout
//   store    the vector store (a real Qdrant, ../shared/bin/qdrant) goes down for 30 s during an ingestion
// Each checks: nothing lost (every document live, its chunks all there), nothing duplicated (the store holds exactly
// the chunks the registry lists), no staged leftovers, every run finished. Prints figures; exits 1 when one fails.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DocumentRegistry } from '../activities/documents';
import { createModels } from '../activities/models';
import { LanceDbVectorStore } from '../activities/vectors/lancedb';
import { QdrantVectorStore } from '../activities/vectors/qdrant';
import type { VectorStore } from '../activities/vectors/types';
import { GroundworkClient } from '../client/groundwork-client';
import { loadConfig } from '../common/config';
import { batchFailures } from '../workflows/definitions';
import { freePort, startDevServer } from '../workers/dev-server';
import type { DevServer } from '../workers/dev-server';
import { installLogging } from '../workers/logging';
import { QDRANT_BIN, spawnQdrant } from '../test/support/qdrant-server';
import { startWorker } from '../workers/worker';
import type { RunningWorker } from '../workers/worker';

installLogging('warn');

const ROOT = path.resolve(__dirname, '..');

interface Outcome {
  scenario: string;
  ok: boolean;
  skipped?: string;
  figures: Record<string, number | string>;
  problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** n small Markdown documents of a few chunks each, under the tenant's ingest root. */
async function writeDocs(dataDir: string, tenantId: string, n: number): Promise<string[]> {
  const dir = path.join(dataDir, 'sources', tenantId);
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = Array.from(
      { length: 6 },
      (_, p) =>
        `## Section ${p + 1}\n\nPolicy ${i}-${p}: requests of kind ${(i * 7 + p) % 13} are answered within ${(i + p) % 30} days by team ${i % 9}.`,
    ).join('\n\n');
    const file = path.join(dir, `doc-${String(i).padStart(3, '0')}.md`);
    await fs.writeFile(file, `# Document ${i}\n\n${body}\n`);
    files.push(file);
  }
  return files;
}

function baseEnv(address: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `faults-${path.basename(dataDir)}`,
    GROUNDWORK_DATA_DIR: dataDir,
    GROUNDWORK_INGEST_ROOTS: path.join(dataDir, 'sources'),
    GROUNDWORK_METRICS_PORT: '0',
    LOG_LEVEL: 'error',
    ...extra,
  };
}

/** A worker in a process of its own (the compiled CLI when built), so that it can really be killed. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  const built = existsSync(path.join(ROOT, 'dist', 'client', 'cli.js'));
  const args = built
    ? [path.join(ROOT, 'bin', 'groundwork.js'), 'worker']
    : ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'client', 'cli.ts'), 'worker'];
  return spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
}

async function hasActivityPoller(address: string, taskQueue: string): Promise<true | undefined> {
  const connection = await Connection.connect({ address });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    return (res.pollers ?? []).length > 0 || undefined;
  } finally {
    await connection.close();
  }
}

/** Lost, duplicated and staged: the registry's live documents against what the store holds. */
async function audit(
  store: VectorStore,
  dataDir: string,
  tenantId: string,
  expected: number,
): Promise<{ live: number; chunks: number; stored: number; staged: number; stagingFiles: number; problems: string[] }> {
  const problems: string[] = [];
  const records = await DocumentRegistry.inDataDir(dataDir).list(tenantId);
  const live = records.filter((r) => r.status === 'live');
  let chunks = 0;
  for (const r of live) {
    const n = await store.count(tenantId, { documentId: r.documentId, state: 'active' });
    chunks += r.chunks ?? 0;
    if (n !== r.chunks) problems.push(`${r.documentId}: the store has ${n} chunks, the registry ${r.chunks}`);
  }
  const stored = await store.count(tenantId, { state: 'active' });
  const staged = await store.count(tenantId, { state: 'staged' });
  const stagingDir = path.join(dataDir, 'staging', tenantId);
  // Files only: a document's (empty) folder may stay.
  const stagingFiles = existsSync(stagingDir)
    ? (await fs.readdir(stagingDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length
    : 0;
  if (live.length !== expected)
    problems.push(`${live.length} of ${expected} documents live (lost: ${expected - live.length})`);
  if (stored !== chunks)
    problems.push(`the store holds ${stored} active chunks, the registry lists ${chunks} (duplicates)`);
  if (staged > 0) problems.push(`${staged} staged points left`);
  if (stagingFiles > 0) problems.push(`${stagingFiles} staging files left`);
  return { live: live.length, chunks, stored, staged, stagingFiles, problems };
}

async function scratch(name: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `groundwork-faults-${name}-`));
}

// ---------- kill: kill -9 of the worker three times during a 100-document ingestion ----------

async function killScenario(): Promise<Outcome> {
  const dataDir = await scratch('kill');
  const server = await startDevServer({ uiPort: null, dbFile: path.join(dataDir, 'temporal.db') });
  const env = baseEnv(server.address, dataDir);
  const config = loadConfig(env);
  let worker = spawnWorker(env);
  const client = await GroundworkClient.fromConfig(config);
  try {
    await waitFor(() => hasActivityPoller(server.address, config.temporal.taskQueue), 60_000, 'the worker');
    const files = await writeDocs(dataDir, 'killco', 100);
    const started = Date.now();
    const batch = await client.startIngestBatch('killco', files, 8);
    const { batchProgressQuery } = await import('../workflows/definitions');
    let lastKill = 0;
    // After each kill: how long until every document that was in flight when it died has finished (on the new worker).
    const resumed: Promise<number>[] = [];
    const inFlight = async (): Promise<string[]> => {
      const ids: string[] = [];
      for await (const w of client.temporal.workflow.list({
        query: 'WorkflowType = "ingestDocument" AND TenantId = "killco" AND ExecutionStatus = "Running"',
      }))
        ids.push(w.workflowId);
      return ids;
    };
    for (let k = 0; k < 3; k++) {
      const target = 15 + k * 25;
      await waitFor(
        async () => {
          const p = await batch.query(batchProgressQuery);
          return p.ingested + p.unchanged + batchFailures(p) >= target ? true : undefined;
        },
        300_000,
        `${target} documents done`,
      );
      const running = await inFlight();
      worker.kill('SIGKILL');
      const killedAt = Date.now();
      lastKill = killedAt;
      worker = spawnWorker(env);
      // Tracked beside the ingestion, which goes on to the next kill meanwhile.
      resumed.push(
        waitFor(
          async () => {
            for (const id of running) {
              const d = await client.temporal.workflow.getHandle(id).describe();
              if (d.status.name === 'RUNNING') return undefined;
            }
            return true;
          },
          300_000,
          'the documents in flight at the kill',
        ).then(() => Math.round((Date.now() - killedAt) / 100) / 10),
      );
    }
    const result = await batch.result();
    const afterLastKill = (Date.now() - lastKill) / 1000;
    const resumedAfter = await Promise.all(resumed);
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    const store = new LanceDbVectorStore(config.vectors.lancedbDir);
    await store.ensureReady(createModels(config.models).embedder.dimensions);
    const a = await audit(store, dataDir, 'killco', 100);
    await store.close();
    const problems = [...a.problems];
    if (result.ingested !== 100) problems.push(`the batch reports ${result.ingested} ingested`);
    if (batchFailures(result) > 0) problems.push(`${batchFailures(result)} failed: ${result.failed[0]?.code}`);
    if (afterLastKill > 180) problems.push(`done ${afterLastKill.toFixed(0)} s after the last kill (over 3 minutes)`);
    if (Math.max(...resumedAfter) > 60)
      problems.push(`documents in flight at a kill finished ${Math.max(...resumedAfter)} s after it (over 60 s)`);
    return {
      scenario: 'kill',
      ok: problems.length === 0,
      figures: {
        documents: 100,
        kills: 3,
        secondsTotal: Math.round((Date.now() - started) / 1000),
        secondsAfterLastKill: Math.round(afterLastKill),
        inFlightDoneSecondsAfterEachKill: resumedAfter.join(' / '),
        live: a.live,
        chunks: a.chunks,
        storedChunks: a.stored,
        staged: a.staged + a.stagingFiles,
      },
      problems,
    };
  } finally {
    worker.kill('SIGKILL');
    await client.close();
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

// ---------- restart: the dev server stopped and started again while ingestions and asks run ----------

async function restartScenario(): Promise<Outcome> {
  const dataDir = await scratch('restart');
  const dbFile = path.join(dataDir, 'temporal.db');
  const port = await freePort();
  let server: DevServer = await startDevServer({ uiPort: null, dbFile, port });
  const env = baseEnv(server.address, dataDir);
  const config = loadConfig(env);
  let worker: RunningWorker | undefined;
  let client: GroundworkClient | undefined;
  try {
    worker = await startWorker(config, { shutdownGraceTime: '1s' });
    client = await GroundworkClient.fromConfig(config);
    const files = await writeDocs(dataDir, 'restartco', 30);
    await client.ingest({ tenantId: 'restartco', documentId: 'first.md', source: { kind: 'path', path: files[0]! } });
    const batch = await client.startIngestBatch('restartco', files.slice(1), 4);
    const asks = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client!.startAsk({
          tenantId: 'restartco',
          question: `Which team answers requests of kind ${i}?`,
          escalate: false,
        }),
      ),
    );
    await sleep(1500);
    const down = Date.now();
    await server.stop();
    await sleep(3000);
    server = await startDevServer({ uiPort: null, dbFile, port });
    const downSeconds = (Date.now() - down) / 1000;
    const problems: string[] = [];
    const results = await Promise.allSettled([batch.result(), ...asks.map((a) => a.result())]);
    const failed = results.filter((r) => r.status === 'rejected');
    for (const f of failed) problems.push(`a run failed: ${String((f as PromiseRejectedResult).reason).slice(0, 160)}`);
    const batchResult = results[0]?.status === 'fulfilled' ? (results[0].value as { ingested: number }) : undefined;
    const a = await audit(worker.vectors, dataDir, 'restartco', 30);
    problems.push(...a.problems);
    return {
      scenario: 'restart',
      ok: problems.length === 0,
      figures: {
        runs: results.length,
        finished: results.length - failed.length,
        serverDownSeconds: Math.round(downSeconds),
        batchIngested: batchResult?.ingested ?? 0,
        live: a.live,
        storedChunks: a.stored,
        staged: a.staged + a.stagingFiles,
      },
      problems,
    };
  } finally {
    await client?.close();
    await worker?.shutdown().catch(() => undefined);
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

// ---------- model: the embedding endpoint answers 429, 500, and hangs ----------

const DIMENSIONS = 16;
function fakeEmbedding(text: string): number[] {
  const v = new Array<number>(DIMENSIONS).fill(0);
  for (const w of text.toLowerCase().split(/\W+/).filter(Boolean))
    v[createHash('sha256').update(w).digest()[0]! % DIMENSIONS]! += 1;
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

async function modelScenario(): Promise<Outcome> {
  const dataDir = await scratch('model');
  const faults = ['429', '500', 'hang', '429', '500'];
  const seen: Record<string, number> = { '429': 0, '500': 0, hang: 0, ok: 0 };
  const hung: http.ServerResponse[] = [];
  const api = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const fault = faults.shift();
      if (fault === '429') {
        seen['429']! += 1;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        return res.end(JSON.stringify({ error: { message: 'rate limited', type: 'rate_limit' } }));
      }
      if (fault === '500') {
        seen['500']! += 1;
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
      }
      if (fault === 'hang') {
        seen.hang! += 1;
        hung.push(res); // never answered: the client's request timeout aborts it
        return;
      }
      seen.ok! += 1;
      const input = (JSON.parse(body) as { input: string[] }).input;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          model: 'fault-embed',
          data: input.map((t, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(t) })),
          usage: { prompt_tokens: input.length, total_tokens: input.length },
        }),
      );
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const server = await startDevServer({ uiPort: null });
  const env = baseEnv(server.address, dataDir, {
    GROUNDWORK_EMBEDDINGS: 'openai',
    EMBEDDINGS_BASE_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`,
    EMBEDDINGS_API_KEY: 'fault-key',
    EMBEDDINGS_MODEL: 'fault-embed',
    EMBEDDINGS_DIMENSIONS: String(DIMENSIONS),
  });
  const config = loadConfig(env);
  let worker: RunningWorker | undefined;
  let client: GroundworkClient | undefined;
  try {
    worker = await startWorker(config, { shutdownGraceTime: '1s' });
    client = await GroundworkClient.fromConfig(config);
    const files = await writeDocs(dataDir, 'modelco', 10);
    const started = Date.now();
    const result = await client.ingestBatch('modelco', files, 4);
    const answer = await client.ask({
      tenantId: 'modelco',
      question: 'Which team answers requests of kind 3?',
      escalate: false,
    });
    const problems: string[] = [];
    if (result.ingested !== 10) problems.push(`${result.ingested} of 10 ingested (${result.failed[0]?.code ?? ''})`);
    if (!['answered', 'not_found'].includes(answer.status)) problems.push(`the ask ended ${answer.status}`);
    for (const f of ['429', '500', 'hang'] as const)
      if (seen[f] === 0) problems.push(`the ${f} fault was never served`);
    const a = await audit(worker.vectors, dataDir, 'modelco', 10);
    problems.push(...a.problems);
    return {
      scenario: 'model',
      ok: problems.length === 0,
      figures: {
        served429: seen['429']!,
        served500: seen['500']!,
        servedHangs: seen.hang!,
        requestsAnswered: seen.ok!,
        seconds: Math.round((Date.now() - started) / 1000),
        live: a.live,
        storedChunks: a.stored,
        askStatus: answer.status,
      },
      problems,
    };
  } finally {
    for (const r of hung) r.destroy();
    await client?.close();
    await worker?.shutdown().catch(() => undefined);
    await server.stop();
    await new Promise((r) => api.close(r));
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

// ---------- store: the vector store down for 30 s during an ingestion ----------

async function storeScenario(): Promise<Outcome> {
  if (!existsSync(QDRANT_BIN))
    return {
      scenario: 'store',
      ok: true,
      skipped: `no Qdrant server binary at ${QDRANT_BIN}`,
      figures: {},
      problems: [],
    };
  const dataDir = await scratch('store');
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  let qdrant = spawnQdrant(dataDir, httpPort, grpcPort);
  const url = `http://127.0.0.1:${httpPort}`;
  const ready = () =>
    waitFor(
      () => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => (r.ok ? true : undefined)),
      30_000,
      'Qdrant',
    );
  await ready();
  const server = await startDevServer({ uiPort: null });
  const env = baseEnv(server.address, dataDir, { QDRANT_URL: url, QDRANT_COLLECTION: `faults_${Date.now()}` });
  const config = loadConfig(env);
  let worker: RunningWorker | undefined;
  let client: GroundworkClient | undefined;
  try {
    worker = await startWorker(config, { shutdownGraceTime: '1s' });
    client = await GroundworkClient.fromConfig(config);
    const files = await writeDocs(dataDir, 'storeco', 20);
    const started = Date.now();
    const batch = await client.startIngestBatch('storeco', files, 4);
    const { batchProgressQuery } = await import('../workflows/definitions');
    await waitFor(
      async () => ((await batch.query(batchProgressQuery)).ingested >= 3 ? true : undefined),
      120_000,
      'three documents',
    );
    qdrant.kill('SIGKILL');
    await new Promise((r) => qdrant.once('exit', r));
    await sleep(30_000);
    qdrant = spawnQdrant(dataDir, httpPort, grpcPort);
    await ready();
    const result = await batch.result();
    const problems: string[] = [];
    if (result.ingested !== 20) problems.push(`${result.ingested} of 20 ingested (${result.failed[0]?.code ?? ''})`);
    const store = new QdrantVectorStore(url, undefined, config.vectors.qdrantCollection);
    const a = await audit(store, dataDir, 'storeco', 20);
    await store.close();
    problems.push(...a.problems);
    return {
      scenario: 'store',
      ok: problems.length === 0,
      figures: {
        storeDownSeconds: 30,
        seconds: Math.round((Date.now() - started) / 1000),
        live: a.live,
        chunks: a.chunks,
        storedChunks: a.stored,
        staged: a.staged + a.stagingFiles,
      },
      problems,
    };
  } finally {
    await client?.close();
    await worker?.shutdown().catch(() => undefined);
    await server.stop();
    qdrant.kill('SIGKILL');
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

const SCENARIOS: Record<string, () => Promise<Outcome>> = {
  kill: killScenario,
  restart: restartScenario,
  model: modelScenario,
  store: storeScenario,
};

async function main(): Promise<number> {
  const json = process.argv.includes('--json');
  const i = process.argv.indexOf('--only');
  const names = i > 0 ? (process.argv[i + 1] ?? '').split(',') : Object.keys(SCENARIOS);
  const unknown = names.filter((n) => !SCENARIOS[n]);
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario: ${unknown.join(', ')} (known: ${Object.keys(SCENARIOS).join(', ')})\n`);
    return 2;
  }
  const outcomes: Outcome[] = [];
  for (const name of names) {
    if (!json) process.stdout.write(`${name} …\n`);
    const outcome = await SCENARIOS[name]!().catch((err: unknown): Outcome => ({
      scenario: name,
      ok: false,
      figures: {},
      problems: [err instanceof Error ? err.message : String(err)],
    }));
    outcomes.push(outcome);
    if (!json) {
      const figures = Object.entries(outcome.figures)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      process.stdout.write(
        `${outcome.skipped ? 'SKIP' : outcome.ok ? 'PASS' : 'FAIL'} ${name}: ${outcome.skipped ?? figures}\n`,
      );
      for (const p of outcome.problems) process.stdout.write(`  - ${p}\n`);
    }
  }
  if (json) process.stdout.write(`${JSON.stringify({ outcomes })}\n`);
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
