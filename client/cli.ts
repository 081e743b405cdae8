// `groundwork`: the command line for services, reviewers and operators. Every command takes --json.
import { promises as fs } from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import type { AnswerResult, IngestDocumentResult } from '../workflows/definitions';
import { answerProgressQuery, batchProgressQuery } from '../workflows/definitions';
import { loadConfig } from '../workers/config';
import type { Config } from '../workers/config';
import { ClientInputError, GroundworkClient, documentIdFromPath, goldenSetSchema } from './groundwork-client';
import { formatAnswer, formatEvaluation, formatIngest, formatReview } from './format';
import { startLocalStack } from '../workers/local-stack';
import { installLogging } from '../workers/logging';
import { startHttpApi } from './http';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

interface GlobalOptions {
  json?: boolean;
}

function out(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

function progress(msg: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
}

async function withClient<T>(config: Config, fn: (client: GroundworkClient) => Promise<T>): Promise<T> {
  const client = await GroundworkClient.connect({
    address: config.temporal.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    apiKey: config.temporal.apiKey,
    tls: config.temporal.tls,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function readGolden(file: string) {
  const raw = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  const list = Array.isArray(raw) ? raw : (raw as { questions?: unknown }).questions;
  const r = goldenSetSchema.safeParse(list);
  if (!r.success) throw new ClientInputError('INVALID_GOLDEN_SET', `The golden set file is not valid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function buildCli(): Command {
  const program = new Command('groundwork')
    .description('Production RAG on Temporal: ingest documents, ask cited questions, review low-confidence answers, re-evaluate.')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError();
  const g = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('dev')
    .description('start the local Temporal dev server (when none is reachable), a worker and the HTTP API, until Ctrl-C')
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .option('--ui-port <port>', 'Temporal UI port', '8233')
    .option('--no-http', 'do not start the HTTP API')
    .action(async (opts: { port: string; uiPort: string; http: boolean }) => {
      const config = loadConfig();
      const stack = await startLocalStack(config, { port: Number(opts.port), uiPort: Number(opts.uiPort), persist: true, log: (m) => process.stderr.write(`${m}\n`) });
      const http = opts.http ? await startHttpApi(stack.config, { port: config.http.port }) : undefined;
      out(g().json, { temporalAddress: stack.config.temporal.address, ui: stack.uiUrl, http: http?.url }, () =>
        [`Temporal   ${stack.config.temporal.address}`, `UI         ${stack.uiUrl ?? '(external server)'}`, `HTTP API   ${http?.url ?? 'off'}`, 'worker     running — Ctrl-C to stop'].join('\n'),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await http?.close();
      await stack.stop();
    });

  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (default 127.0.0.1:7233)')
    .action(async () => {
      const config = loadConfig();
      const { startWorker } = await import('../workers/worker');
      const running = await startWorker({ ...config, temporal: { ...config.temporal, address: config.temporal.address ?? DEFAULT_TEMPORAL_ADDRESS } });
      process.stderr.write(`worker running on task queue "${config.temporal.taskQueue}" — Ctrl-C to stop\n`);
      await running.done;
    });

  program
    .command('http')
    .description('serve the HTTP API (JSON) against TEMPORAL_ADDRESS')
    .option('--port <port>', 'port (default GROUNDWORK_HTTP_PORT or 8080)')
    .action(async (opts: { port?: string }) => {
      const config = loadConfig();
      const api = await startHttpApi({ ...config, temporal: { ...config.temporal, address: config.temporal.address ?? DEFAULT_TEMPORAL_ADDRESS } }, { port: opts.port ? Number(opts.port) : config.http.port });
      process.stderr.write(`HTTP API on ${api.url} — Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      await api.close();
    });

  program
    .command('ingest')
    .description('ingest files or folders for a tenant')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .option('--id <documentId>', 'document id (one file only; default: the file name)')
    .option('--password <password>', 'password for an encrypted PDF (one file only)')
    .option('--include-hidden', 'include hidden spreadsheet sheets')
    .option('--across-pages', 'let PDF chunks flow across page breaks (citations then name page ranges)')
    .option('--concurrency <n>', 'documents in parallel for folders', '4')
    .option('--no-wait', 'start and print workflow ids without waiting')
    .argument('<paths...>', 'files or folders')
    .action(async (paths: string[], opts: { tenant: string; id?: string; password?: string; includeHidden?: boolean; acrossPages?: boolean; concurrency: string; wait: boolean }) => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        const files = await GroundworkClient.collectFiles(paths);
        if (files.length === 0) throw new ClientInputError('NO_FILES', 'No files found to ingest.');
        if (files.length === 1 || opts.id) {
          if (files.length > 1) throw new ClientInputError('INVALID_INPUT', '--id and --password apply to one file only.');
          const file = files[0] as string;
          const handle = await client.startIngest({
            tenantId: opts.tenant,
            documentId: opts.id ?? documentIdFromPath(file),
            source: { kind: 'path', path: file },
            password: opts.password,
            includeHiddenSheets: opts.includeHidden,
            chunkAcrossPages: opts.acrossPages,
          });
          if (!opts.wait) return out(g().json, { workflowId: handle.workflowId }, () => handle.workflowId);
          progress(`ingesting ${handle.workflowId} …`);
          const result: IngestDocumentResult = await handle.result();
          progress('');
          return out(g().json, result, () => formatIngest(result));
        }
        const handle = await client.startIngestBatch(opts.tenant, files, Number(opts.concurrency), { includeHiddenSheets: opts.includeHidden, chunkAcrossPages: opts.acrossPages });
        if (!opts.wait) return out(g().json, { workflowId: handle.workflowId, files: files.length }, () => handle.workflowId);
        const timer = setInterval(() => {
          handle
            .query(batchProgressQuery)
            .then((p) => progress(`${p.ingested + p.unchanged + p.failed.length}/${p.total} documents (${p.running} running, ${p.failed.length} failed)`))
            .catch(() => undefined);
        }, 1000);
        try {
          const result = await handle.result();
          progress('');
          out(g().json, result, () =>
            [`${result.total} documents: ${result.ingested} ingested, ${result.unchanged} unchanged, ${result.failed.length} failed`, ...result.failed.map((f) => `  ${f.documentId}: ${f.code}: ${f.message}`)].join('\n'),
          );
          if (result.failed.length > 0) process.exitCode = 2;
        } finally {
          clearInterval(timer);
        }
      });
    });

  program
    .command('ask')
    .description('ask a question; low-confidence answers wait for a reviewer')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .option('--top-k <k>', 'chunks to retrieve')
    .option('--no-escalate', 'never open a review task')
    .option('--no-wait', 'print the workflow id without waiting')
    .argument('<question>', 'the question')
    .action(async (question: string, opts: { tenant: string; topK?: string; escalate: boolean; wait: boolean }) => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        const handle = await client.startAsk({ tenantId: opts.tenant, question, topK: opts.topK ? Number(opts.topK) : undefined, escalate: opts.escalate });
        if (!opts.wait) return out(g().json, { workflowId: handle.workflowId }, () => handle.workflowId);
        let announced = false;
        const timer = setInterval(() => {
          handle
            .query(answerProgressQuery)
            .then((p) => {
              if (p.stage === 'awaiting_review' && !announced) {
                announced = true;
                process.stderr.write(`low confidence: waiting for a reviewer on task ${p.reviewTaskId}\n`);
              } else progress(`${p.stage} …`);
            })
            .catch(() => undefined);
        }, 500);
        try {
          const result: AnswerResult = await handle.result();
          progress('');
          out(g().json, { workflowId: handle.workflowId, ...result }, () => formatAnswer(result));
        } finally {
          clearInterval(timer);
        }
      });
    });

  const review = program.command('review').description('list and complete human-review tasks');
  review
    .command('list')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .addOption(new Option('--status <status>', 'which tasks').choices(['pending', 'open', 'escalated', 'approved', 'edited', 'rejected', 'expired', 'all']).default('pending'))
    .action(async (opts: { tenant: string; status: 'pending' }) => {
      await withClient(loadConfig(), async (client) => {
        const tasks = await client.listReviews(opts.tenant, opts.status);
        out(g().json, tasks, () => (tasks.length ? tasks.map((t) => `${t.taskId}  ${t.status}  ${t.startTime.toISOString()}`).join('\n') : 'no review tasks'));
      });
    });
  review
    .command('show')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .argument('<taskId>')
    .action(async (taskId: string, opts: { tenant: string }) => {
      await withClient(loadConfig(), async (client) => {
        const state = await client.getReview(opts.tenant, taskId);
        out(g().json, state, () => formatReview(state));
      });
    });
  review
    .command('approve')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--reviewer <id>', 'your reviewer id')
    .option('--note <text>')
    .argument('<taskId>')
    .action(async (taskId: string, opts: { tenant: string; reviewer: string; note?: string }) => {
      await withClient(loadConfig(), async (client) => {
        await client.approve(opts.tenant, taskId, opts.reviewer, opts.note);
        out(g().json, { taskId, signal: 'approve' }, () => `approved ${taskId}`);
      });
    });
  review
    .command('edit')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--reviewer <id>', 'your reviewer id')
    .requiredOption('--answer <text>', 'the corrected answer')
    .option('--cite <chunkId...>', 'chunk ids the answer cites (from `review show`)', [])
    .option('--note <text>')
    .argument('<taskId>')
    .action(async (taskId: string, opts: { tenant: string; reviewer: string; answer: string; cite: string[]; note?: string }) => {
      await withClient(loadConfig(), async (client) => {
        await client.edit(opts.tenant, taskId, { reviewerId: opts.reviewer, answer: opts.answer, citations: opts.cite.map((chunkId) => ({ chunkId })), note: opts.note });
        out(g().json, { taskId, signal: 'edit' }, () => `edited ${taskId}`);
      });
    });
  review
    .command('reject')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--reviewer <id>', 'your reviewer id')
    .requiredOption('--reason <text>', 'why the draft is wrong')
    .argument('<taskId>')
    .action(async (taskId: string, opts: { tenant: string; reviewer: string; reason: string }) => {
      await withClient(loadConfig(), async (client) => {
        await client.reject(opts.tenant, taskId, opts.reviewer, opts.reason);
        out(g().json, { taskId, signal: 'reject' }, () => `rejected ${taskId}`);
      });
    });

  const evaluation = program.command('eval').description('re-evaluate golden questions');
  evaluation
    .command('run')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--golden <file>', 'golden set JSON: [{ question, expectedDocuments?, expectAnswer? }]')
    .option('--set-baseline', 'make this run the baseline for drift')
    .action(async (opts: { tenant: string; golden: string; setBaseline?: boolean }) => {
      const golden = await readGolden(opts.golden);
      await withClient(loadConfig(), async (client) => {
        progress(`evaluating ${golden.length} questions …`);
        const report = await client.runEvaluation({ tenantId: opts.tenant, golden, setBaseline: opts.setBaseline });
        progress('');
        out(g().json, report, () => formatEvaluation(report));
        if (report.drift.detected) process.exitCode = 3;
      });
    });
  evaluation
    .command('schedule')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--golden <file>', 'golden set JSON')
    .option('--every <interval>', 'interval, e.g. 1h, 1d', '1d')
    .option('--trigger', 'also run it once now')
    .action(async (opts: { tenant: string; golden: string; every: string; trigger?: boolean }) => {
      const every = z.string().regex(/^\d+(s|m|h|d)$/, 'use an interval such as 30m, 6h or 1d').parse(opts.every);
      const golden = await readGolden(opts.golden);
      await withClient(loadConfig(), async (client) => {
        const scheduleId = await client.scheduleEvaluation({ tenantId: opts.tenant, golden, every });
        if (opts.trigger) await client.triggerEvaluation(opts.tenant);
        out(g().json, { scheduleId, every }, () => `schedule ${scheduleId} runs every ${every}${opts.trigger ? ' (triggered now)' : ''}`);
      });
    });
  evaluation
    .command('unschedule')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .action(async (opts: { tenant: string }) => {
      await withClient(loadConfig(), async (client) => {
        await client.deleteEvaluationSchedule(opts.tenant);
        out(g().json, { deleted: true }, () => 'schedule deleted');
      });
    });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // Interactive commands stay quiet unless LOG_LEVEL asks for more; `worker` logs at info.
  installLogging(argv.includes('worker') ? 'info' : 'warn');
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const code = err instanceof ClientInputError ? err.code : err instanceof Error ? err.name : 'ERROR';
    const message = err instanceof Error ? err.message : String(err);
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
