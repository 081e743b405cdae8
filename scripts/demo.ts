// `npm run demo`: from nothing to cited answers for two tenants and one human-reviewed escalation, offline.
// Starts what it needs (Temporal dev server, worker), and stops everything it started.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KeyStore } from '../client/auth/key-store';
import { createLocalAdminKey } from '../client/cli-keys';
import { GroundworkClient } from '../client/groundwork-client';
import { startHttpApi } from '../client/http';
import type { HttpApi } from '../client/http';
import { formatAnswer, formatEvaluation, formatReview } from '../client/format';
import { loadConfig } from '../common/config';
import type { Config } from '../common/config';
import { freePort } from '../workers/dev-server';
import { startLocalStack } from '../workers/local-stack';
import type { GoldenQuestion } from '../workflows/definitions';
import { answerProgressQuery } from '../workflows/definitions';
import { installLogging } from '../workers/logging';

const root = path.resolve(__dirname, '..');
const keep = process.argv.includes('--keep');
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const title = (s: string): void => say(`\n\x1b[1m== ${s}\x1b[0m`);

async function main(): Promise<void> {
  const started = Date.now();
  installLogging('warn');
  const dataDir = path.join(root, '.data', 'demo');
  await fs.rm(dataDir, { recursive: true, force: true });
  const config = loadConfig({
    ...process.env,
    GROUNDWORK_DATA_DIR: process.env.GROUNDWORK_DATA_DIR ?? dataDir,
    // The worker's metrics on 9464 unless something (a `groundwork dev`) holds it: then any free port.
    GROUNDWORK_METRICS_PORT: process.env.GROUNDWORK_METRICS_PORT ?? ((await isFree(9464)) ? '9464' : '0'),
  });

  title('Starting Temporal and a worker');
  const uiPort = (await isFree(8233)) ? 8233 : await freePort();
  const stack = await startLocalStack(config, { uiPort, log: (m) => say(`  ${m}`) });
  say(`  Temporal ${stack.config.temporal.address}${stack.startedServer ? ' (dev server started by the demo)' : ''}`);
  say(
    `  vector store ${stack.worker.vectors.kind}; embeddings ${config.models.embeddings.provider}, answers ${config.models.answers.provider}`,
  );
  const client = await GroundworkClient.fromConfig(stack.config);
  let http: HttpApi | undefined;

  try {
    await ingestSamples(client);
    await askQuestions(client);
    await reviewAnEscalation(client);
    await evaluate(client);
    http = await httpApi(stack.config);
    await reviewConsole(client, stack.config, http);

    title('Operators');
    say(`  Temporal UI: ${stack.uiUrl ?? config.temporal.uiUrl ?? '(your server UI)'}`);
    say(`  find a tenant's runs with the query:  TenantId = "acme"`);
    say(`  open review tasks:  WorkflowType = "reviewTask" AND ReviewStatus IN ("open", "escalated")`);
    say(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    if (keep) {
      say('Everything keeps running for the UI; Ctrl-C to stop.');
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await http?.close();
    await client.close();
    await stack.stop();
  }
}

/** The HTTP API with a fresh local admin key (stored hashed in the data dir's key store): printed, then used once. */
async function httpApi(config: Config): Promise<HttpApi> {
  title('HTTP API: every route but /healthz needs a key');
  const http = await startHttpApi(config, { port: await freePort() });
  const admin = await createLocalAdminKey(config.dataDir);
  say(`  ${http.url}`);
  say(`  local admin key (all tenants, printed once): ${admin.key}`);
  const reviews = `${http.url}/v1/tenants/acme/reviews?status=all`;
  const anonymous = await fetch(reviews);
  say(`  GET /v1/tenants/acme/reviews without a key: ${anonymous.status}`);
  const res = await fetch(reviews, { headers: { authorization: `Bearer ${admin.key}` } });
  const { tasks } = (await res.json()) as { tasks: unknown[] };
  say(`  with the key: ${res.status}, review tasks of acme: ${tasks.length}`);
  say(`  curl -H "Authorization: Bearer ${admin.key}" '${reviews}'`);
  return http;
}

async function ingestSamples(client: GroundworkClient): Promise<void> {
  for (const tenant of ['acme', 'globex']) {
    title(`Ingesting the sample documents of tenant "${tenant}"`);
    const files = await GroundworkClient.collectFiles([path.join(root, 'samples', tenant)]);
    // Uploaded into the blob store the worker reads (the same data dir): no ingest roots needed.
    const result = await client.ingestBatch(tenant, await client.uploadFiles(tenant, files), 3);
    say(
      `  ${result.total} documents: ${result.ingested} ingested, ${result.unchanged} unchanged, ${result.failed.length} failed`,
    );
    for (const f of result.failed) say(`  ${f.documentId}: ${f.code}: ${f.message}`);
  }
}

async function askQuestions(client: GroundworkClient): Promise<void> {
  const questions: [string, string][] = [
    ['acme', 'How many vacation days do full-time employees receive?'],
    ['acme', 'What was the EMEA revenue in Q2?'],
    ['globex', 'How often are passwords rotated?'],
    ['globex', 'What is the unit price of the Megasprocket?'],
    // The same question acme just answered: globex cannot see acme's spreadsheet.
    ['globex', 'What was the EMEA revenue in Q2?'],
  ];
  for (const [tenant, question] of questions) {
    title(`${tenant} asks: ${question}`);
    const handle = await client.startAsk({ tenantId: tenant, question });
    // A low-confidence answer waits for a reviewer; in the demo a reviewer approves it at once.
    const escalatedTo = await waitForReviewOrResult(handle);
    if (escalatedTo) {
      const task = await client.getReview(tenant, escalatedTo);
      say(
        `  confidence ${task.draft.confidence.toFixed(2)} < ${task.threshold}: escalated to ${escalatedTo}; reviewer "lee" approves it`,
      );
      await client.approve(tenant, escalatedTo, 'lee');
    }
    say(indent(formatAnswer(await handle.result())));
  }
}

/**
 * The review console: a task left open for a person (acme asks with a strict threshold), a reviewer key for acme, and
 * the links. With --keep, open the link, sign in with the key, claim the task and decide it.
 */
async function reviewConsole(client: GroundworkClient, config: Config, http: HttpApi): Promise<void> {
  title('Review console: a task waits for you');
  const question = 'How many vacation days do part-time employees receive?';
  const r = await client.askUntilEscalated(
    { tenantId: 'acme', question, threshold: 0.99 },
    { consoleUrl: `${http.url}/console/` },
  );
  const reviewer = await KeyStore.forDataDir(config.dataDir).create({ tenant: 'acme', role: 'reviewer', name: 'you' });
  say(`  acme asks: ${question}`);
  if (r.status === 'escalated') say(`  escalated at once to ${r.reviewTaskId} (the ask did not wait for the review)`);
  say(`  console:        ${http.url}/console/`);
  if (r.status === 'escalated' && r.reviewUrl) say(`  the task:       ${r.reviewUrl}`);
  say(`  statistics:     ${http.url}/console/stats`);
  say(`  reviewer key (acme, reviewer "you", printed once): ${reviewer.key}`);
  if (!keep) say('  (run `npm run demo -- --keep` to keep the console running and complete the review yourself)');
}

async function reviewAnEscalation(client: GroundworkClient): Promise<void> {
  title('Escalation: acme asks with a stricter confidence threshold for this question (0.95)');
  const question = 'Can unused vacation days be carried over into the next year?';
  const handle = await client.startAsk({ tenantId: 'acme', question, threshold: 0.95 });
  const taskId = await waitForReviewOrResult(handle);
  if (!taskId) throw new Error('The answer was confident enough not to need review.');
  // Reviewers find open tasks through the TenantId and ReviewStatus search attributes.
  let listed: string[] = [];
  for (let i = 0; i < 50 && !listed.includes(taskId); i++) {
    listed = (await client.listReviews('acme')).map((t) => t.taskId);
    if (!listed.includes(taskId)) await new Promise((r) => setTimeout(r, 200));
  }
  say(`  review list --tenant acme: ${listed.join(', ') || '(visibility not updated yet)'}`);
  const state = await client.getReview('acme', taskId);
  say(indent(formatReview(state)));
  const cite = state.retrieved.find((r) => r.preview.toLowerCase().includes('carried over')) ?? state.retrieved[0];
  say(`\n  reviewer "dana" sends the edit Update, citing ${cite?.chunkId}`);
  await client.edit('acme', taskId, {
    reviewerId: 'dana',
    answer: 'Yes: unused vacation days may be carried over until March 31 of the following year.',
    citations: cite ? [{ chunkId: cite.chunkId }] : [],
    note: 'Made the deadline explicit.',
  });
  say(indent(formatAnswer(await handle.result())));
}

async function evaluate(client: GroundworkClient): Promise<void> {
  title('Re-evaluation of acme golden questions (the same workflow a Schedule runs)');
  const golden = JSON.parse(
    await fs.readFile(path.join(root, 'samples', 'golden', 'acme.json'), 'utf8'),
  ) as GoldenQuestion[];
  const scheduleId = await client.scheduleEvaluation({ tenantId: 'acme', golden, every: '1d' });
  const report = await client.runEvaluation({ tenantId: 'acme', golden });
  say(indent(formatEvaluation(report)));
  say(`  schedule ${scheduleId} re-runs it daily`);
}

/** Resolves with the review task id once the answer waits for review, or undefined once it is done. */
async function waitForReviewOrResult(
  handle: Awaited<ReturnType<GroundworkClient['startAsk']>>,
): Promise<string | undefined> {
  for (;;) {
    const p = await handle.query(answerProgressQuery);
    if (p.stage === 'awaiting_review' && p.reviewTaskId) return p.reviewTaskId;
    if (p.stage === 'done') return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

async function isFree(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
