// `groundwork`: the command line for services, reviewers and operators. Every command takes --json.
import { promises as fs } from 'node:fs';
import { TransportError } from '@temporalio/worker';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import type { AnswerResult, IngestDocumentResult, ReviewOutcome } from '../workflows/definitions';
import { answerProgressQuery, batchFailures, batchProgressQuery } from '../workflows/definitions';
import { loadConfig } from '../common/config';
import type { Config } from '../common/config';
import { GroundworkError } from '../common/errors';
import { documentIdFromName } from '../common/ids';
import {
  ClientInputError,
  DEFAULT_TEMPORAL_ADDRESS,
  GroundworkClient,
  concurrencySchema,
  goldenSetSchema,
  tenantIdSchema,
} from './groundwork-client';
import type { IngestOptions } from './groundwork-client';
import { formatAnswer, formatEvaluation, formatIngest, formatReview, formatReviewOutcome } from './format';
import { startHttpApi } from './http';
import { addKeyCommands, createLocalAdminKey } from './cli-keys';
import { addDocumentCommands } from './cli-documents';
import { addAuditCommands } from './cli-audit';
import { operatorActor } from '../common/audit';
import { addUsageCommands } from './cli-usage';
import { addEvalReportCommand } from './cli-eval-report';
import { addEvalCompareCommand } from './cli-eval-compare';
import type { HttpApi } from './http';
import { startLocalStack } from '../workers/local-stack';
import { installLogging } from '../workers/logging';
import { startWorker } from '../workers/worker';

/** Prints a result: the value as JSON with --json, else the text. */
type Print = (value: unknown, text: () => string) => void;

/** Commander option parser for a repeatable option. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function progress(msg: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
}

/** Resolves on the first SIGINT or SIGTERM: long-running commands stop cleanly on either. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The configuration with the default Temporal address filled in. */
function configWithAddress(): Config {
  const config = loadConfig();
  return { ...config, temporal: { ...config.temporal, address: config.temporal.address ?? DEFAULT_TEMPORAL_ADDRESS } };
}

/** A connection failure as one readable line; the native one reads "tonic::transport::Error(… message: "Connection refused" …)". */
function unreachable(address: string | undefined, err: unknown): GroundworkError {
  const raw = err instanceof Error ? err.message : String(err);
  const reason = /message: "([^"]+)"/.exec(raw)?.[1] ?? raw;
  return new GroundworkError(
    'TEMPORAL_UNREACHABLE',
    `Cannot connect to Temporal at ${address ?? DEFAULT_TEMPORAL_ADDRESS}: ${reason.slice(0, 200)}`,
    { cause: err },
  );
}

async function withClient<T>(fn: (client: GroundworkClient, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await GroundworkClient.fromConfig(config).catch((err: unknown) =>
    Promise.reject(unreachable(config.temporal.address, err)),
  );
  client.auditActor = operatorActor(); // the audit trail records CLI actions as the OS user
  try {
    return await fn(client, config);
  } finally {
    await client.close();
  }
}

/** Option values checked while parsing, so bad input fails before anything connects. */
function checked<T>(schema: z.ZodType<T>, what: string): (value: string) => T {
  return (value) => {
    const r = schema.safeParse(value);
    if (!r.success)
      throw new ClientInputError('INVALID_INPUT', `${what}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    return r.data;
  };
}

const tenantOption = (): Option =>
  new Option('--tenant <tenant>', 'tenant id').makeOptionMandatory().argParser(checked(tenantIdSchema, 'tenant'));
const port = z.coerce.number().int().min(0).max(65535);

async function readGolden(file: string) {
  const raw = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  const list = Array.isArray(raw) ? raw : (raw as { questions?: unknown }).questions;
  const r = goldenSetSchema.safeParse(list);
  if (!r.success)
    throw new ClientInputError(
      'INVALID_GOLDEN_SET',
      `The golden set file is not valid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

export function buildCli(): Command {
  const program = new Command('groundwork')
    .description(
      'Production RAG on Temporal: ingest documents, ask cited questions, review low-confidence answers, re-evaluate.',
    )
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError()
    // Errors come back to main() (subcommands inherit this), which decides the exit code.
    .exitOverride();
  program.hook('preAction', (_program, action) => installLogging(action.name() === 'worker' ? 'info' : 'warn'));
  const print: Print = (value, text) => {
    process.stdout.write(
      program.opts<{ json?: boolean }>().json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`,
    );
  };
  addServiceCommands(program, print);
  addIngestCommand(program, print);
  addAskCommand(program, print);
  addReviewCommands(program, print);
  addEvalCommands(program, print);
  addKeyCommands(program, print);
  addDocumentCommands(program, { print, withClient, tenantOption });
  addAuditCommands(program, print);
  addUsageCommands(program, print);
  return program;
}

/** dev, worker, http: the long-running processes. Each stops on SIGINT or SIGTERM. */
function addServiceCommands(program: Command, print: Print): void {
  program
    .command('dev')
    .description(
      'start the local Temporal dev server (when none is reachable), a worker and the HTTP API, until Ctrl-C',
    )
    .option('--port <port>', 'Temporal gRPC port', checked(port, '--port'), 7233)
    .option('--ui-port <port>', 'Temporal UI port', checked(port, '--ui-port'), 8233)
    .option('--no-http', 'do not start the HTTP API')
    .action(async (opts: { port: number; uiPort: number; http: boolean }) => {
      const config = loadConfig();
      const stack = await startLocalStack(config, {
        port: opts.port,
        uiPort: opts.uiPort,
        persist: true,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      let http: HttpApi | undefined;
      try {
        http = opts.http ? await startHttpApi(stack.config, { port: config.http.port }) : undefined;
        // A fresh admin key for all tenants in the data dir's key store (`keys revoke` ends it).
        const admin = http ? await createLocalAdminKey(config.dataDir) : undefined;
        print(
          {
            temporalAddress: stack.config.temporal.address,
            ui: stack.uiUrl,
            http: http?.url,
            adminKey: admin?.key,
            metrics: stack.worker.metrics.url,
          },
          () =>
            [
              `Temporal   ${stack.config.temporal.address}`,
              `UI         ${stack.uiUrl ?? '(external server)'}`,
              `HTTP API   ${http?.url ?? 'off'}`,
              `metrics    ${stack.worker.metrics.url ?? 'off'}`,
              ...(admin
                ? [
                    `admin key  ${admin.key}  (all tenants; id ${admin.info.keyId})`,
                    `           curl -H "Authorization: Bearer ${admin.key}" ${http?.url}/v1/tenants/acme/reviews`,
                  ]
                : []),
              'worker     running — Ctrl-C to stop',
            ].join('\n'),
        );
        await Promise.race([untilStopped(), stack.worker.done]);
      } finally {
        await http?.close();
        await stack.stop();
      }
    });

  program
    .command('worker')
    .description(`run a worker against TEMPORAL_ADDRESS (default ${DEFAULT_TEMPORAL_ADDRESS})`)
    .action(async () => {
      const config = configWithAddress();
      const running = await startWorker(config).catch((err: unknown) =>
        Promise.reject(err instanceof TransportError ? unreachable(config.temporal.address, err) : err),
      );
      process.stderr.write(
        `worker running on task queue "${config.temporal.taskQueue}" at ${config.temporal.address} — Ctrl-C to stop\n`,
      );
      await Promise.race([running.done, untilStopped()]);
      await running.shutdown();
    });

  program
    .command('http')
    .description('serve the HTTP API (JSON) against TEMPORAL_ADDRESS')
    .option('--port <port>', 'port, 0 for any free one (default GROUNDWORK_HTTP_PORT or 8080)', checked(port, '--port'))
    .action(async (opts: { port?: number }) => {
      const config = configWithAddress();
      const api = await startHttpApi(config, { port: opts.port ?? config.http.port });
      process.stderr.write(`HTTP API on ${api.url} — Ctrl-C to stop\n`);
      await untilStopped();
      await api.close();
    });
}

interface IngestCommandOptions {
  tenant: string;
  id?: string;
  /** Refused: a password in argv is visible to every local user (ps, /proc) and lands in shell history. */
  password?: string;
  passwordFile?: string;
  passwordStdin?: boolean;
  includeHidden?: boolean;
  acrossPages?: boolean;
  concurrency?: number;
  wait: boolean;
}

const MAX_PASSWORD_BYTES = 4096;

/** One trailing line break (what `echo` and editors add) is not part of the password. */
const withoutLineBreak = (text: string): string => text.replace(/\r?\n$/, '');

/** Reads a password from the terminal without echoing it; Ctrl-C aborts. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new ClientInputError('INVALID_INPUT', 'Password entry cancelled.'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * The PDF password, never from the command line: --password-file, --password-stdin (a hidden prompt on a terminal),
 * else GROUNDWORK_PDF_PASSWORD. It is handed to the client, which keeps it out of workflow history; never printed.
 */
async function readPdfPassword(opts: IngestCommandOptions): Promise<string | undefined> {
  let raw: string | undefined;
  if (opts.passwordFile !== undefined) {
    const file = opts.passwordFile;
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) throw new ClientInputError('SOURCE_NOT_FOUND', 'The --password-file cannot be read.');
    if (stat.size > MAX_PASSWORD_BYTES)
      throw new ClientInputError('INVALID_INPUT', 'The --password-file is too large.');
    raw = withoutLineBreak(await fs.readFile(file, 'utf8'));
  } else if (opts.passwordStdin) {
    if (process.stdin.isTTY) raw = await promptHidden('PDF password: ');
    else {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buf.length;
        if (size > MAX_PASSWORD_BYTES)
          throw new ClientInputError('INVALID_INPUT', 'The password on stdin is too large.');
        chunks.push(buf);
      }
      raw = withoutLineBreak(Buffer.concat(chunks).toString('utf8'));
    }
  } else raw = process.env.GROUNDWORK_PDF_PASSWORD;
  return raw === undefined || raw === '' ? undefined : raw;
}

function addIngestCommand(program: Command, print: Print): void {
  program
    .command('ingest')
    .description('ingest files or folders for a tenant')
    .addOption(tenantOption())
    .option('--id <documentId>', 'document id (one file only; default: the file name)')
    .option('--password-file <file>', 'read the password of an encrypted PDF from this file (one file only)')
    .option('--password-stdin', 'read the password of an encrypted PDF from stdin (one file only)')
    .addOption(new Option('--password <password>').hideHelp())
    .option('--include-hidden', 'include hidden spreadsheet sheets')
    .option('--across-pages', 'let PDF chunks flow across page breaks (citations then name page ranges)')
    .option(
      '--concurrency <n>',
      'documents in parallel for folders (default GROUNDWORK_INGEST_CONCURRENCY or 4)',
      checked(z.coerce.number().pipe(concurrencySchema), '--concurrency'),
    )
    .option('--no-wait', 'start and print workflow ids without waiting')
    .argument('<paths...>', 'files or folders')
    .action(async (paths: string[], opts: IngestCommandOptions) => {
      if (opts.password !== undefined)
        throw new ClientInputError(
          'INVALID_INPUT',
          '--password is not accepted (the command line is visible to other users); use --password-file <file>, --password-stdin or GROUNDWORK_PDF_PASSWORD.',
        );
      if (opts.passwordFile !== undefined && opts.passwordStdin)
        throw new ClientInputError('INVALID_INPUT', 'Use --password-file or --password-stdin, not both.');
      await withClient(async (client) => {
        const files = await GroundworkClient.collectFiles(paths);
        if (files.length === 0) throw new ClientInputError('NO_FILES', 'No files found to ingest.');
        const options: IngestOptions = { includeHiddenSheets: opts.includeHidden, chunkAcrossPages: opts.acrossPages };
        const passwordGiven = opts.passwordFile !== undefined || opts.passwordStdin === true;
        if (files.length === 1 || opts.id || passwordGiven) {
          if (files.length > 1)
            throw new ClientInputError('INVALID_INPUT', '--id and the password options apply to one file only.');
          const file = files[0] as string;
          // Read first: a password file that cannot be read fails before anything is uploaded.
          const password = await readPdfPassword(opts);
          // Local files travel as uploads into the workers' blob store (shared data dir), not as worker paths.
          const { kind, ref, name } = await client.uploadFile(opts.tenant, file);
          const handle = await client.startIngest({
            tenantId: opts.tenant,
            documentId: opts.id ?? documentIdFromName(file),
            source: { kind, ref, name },
            password,
            ...options,
          });
          if (!opts.wait) return print({ workflowId: handle.workflowId }, () => handle.workflowId);
          progress(`ingesting ${handle.workflowId} …`);
          const result: IngestDocumentResult = await handle.result();
          progress('');
          return print(result, () => formatIngest(result));
        }
        // Without --concurrency the client's default applies: GROUNDWORK_INGEST_CONCURRENCY.
        const documents = await client.uploadFiles(opts.tenant, files);
        const handle = await client.startIngestBatch(opts.tenant, documents, opts.concurrency, options);
        if (!opts.wait) return print({ workflowId: handle.workflowId, files: files.length }, () => handle.workflowId);
        const timer = setInterval(() => {
          handle
            .query(batchProgressQuery)
            .then((p) =>
              progress(
                `${p.ingested + p.unchanged + batchFailures(p)}/${p.total} documents (${p.running} running, ${batchFailures(p)} failed)`,
              ),
            )
            .catch(() => undefined);
        }, 1000);
        try {
          const result = await handle.result();
          progress('');
          print(result, () =>
            [
              `${result.total} documents: ${result.ingested} ingested, ${result.unchanged} unchanged, ${batchFailures(result)} failed`,
              ...result.failed.map((f) => `  ${f.documentId}: ${f.code}: ${f.message}`),
            ].join('\n'),
          );
          if (batchFailures(result) > 0) process.exitCode = 2;
        } finally {
          clearInterval(timer);
        }
      });
    });
}

function addAskCommand(program: Command, print: Print): void {
  program
    .command('ask')
    .description('ask a question; a low-confidence answer goes to a reviewer (printed at once with its console link)')
    .addOption(tenantOption())
    .option('--top-k <k>', 'chunks to retrieve', checked(z.coerce.number().int().min(1).max(50), '--top-k'))
    .option('--no-escalate', 'never open a review task')
    .option('--no-wait', 'print the workflow id without waiting')
    .option('--wait-review', 'when the answer needs a reviewer, wait for the reviewed answer')
    .argument('<question>', 'the question')
    .action(
      async (
        question: string,
        opts: { tenant: string; topK?: number; escalate: boolean; wait: boolean; waitReview?: boolean },
      ) => {
        await withClient(async (client, config) => {
          const handle = await client.startAsk({
            tenantId: opts.tenant,
            question,
            topK: opts.topK,
            escalate: opts.escalate,
          });
          if (!opts.wait) return print({ workflowId: handle.workflowId }, () => handle.workflowId);
          let announced = false;
          const timer = setInterval(() => {
            handle
              .query(answerProgressQuery)
              .then((p) => {
                if (p.stage === 'awaiting_review' && opts.waitReview && !announced) {
                  announced = true;
                  process.stderr.write(`low confidence: waiting for a reviewer on task ${p.reviewTaskId}\n`);
                } else if (p.stage !== 'awaiting_review') progress(`${p.stage} …`);
              })
              .catch(() => undefined);
          }, 500);
          try {
            const result = await client.answerOrEscalation(handle, opts.tenant, {
              waitReview: opts.waitReview === true,
              consoleUrl: config.review.consoleUrl ?? config.review.fallbackConsoleUrl,
            });
            progress('');
            if (result.status === 'escalated')
              return print(result, () =>
                [
                  `escalated: the answer needs a reviewer (review task ${result.reviewTaskId})`,
                  result.reviewUrl ? `review it at ${result.reviewUrl}` : '',
                  `its outcome, once decided: GET /v1/tenants/${opts.tenant}/answers/${encodeURIComponent(result.workflowId)}`,
                ]
                  .filter(Boolean)
                  .join('\n'),
              );
            const answer: AnswerResult = result;
            print(result, () => formatAnswer(answer));
          } finally {
            clearInterval(timer);
          }
        });
      },
    );
}

/** review list|show|approve|edit|reject. Decisions print the outcome the task recorded. */
function addReviewCommands(program: Command, print: Print): void {
  const review = program.command('review').description('list and complete human-review tasks');
  review
    .command('list')
    .description('list review tasks of a tenant (default: open and escalated)')
    .addOption(tenantOption())
    .addOption(
      new Option('--status <status>', 'which tasks')
        .choices(['pending', 'open', 'escalated', 'approved', 'edited', 'rejected', 'expired', 'all'])
        .default('pending'),
    )
    .action(async (opts: { tenant: string; status: 'pending' }) => {
      await withClient(async (client) => {
        const tasks = await client.listReviews(opts.tenant, opts.status);
        print(tasks, () =>
          tasks.length
            ? tasks.map((t) => `${t.taskId}  ${t.status}  ${t.startTime.toISOString()}`).join('\n')
            : 'no review tasks',
        );
      });
    });
  review
    .command('show')
    .description('show a task: question, draft, threshold and the retrieved chunks an edit may cite')
    .addOption(tenantOption())
    .argument('<taskId>')
    .action(async (taskId: string, opts: { tenant: string }) => {
      await withClient(async (client) => {
        const state = await client.getReview(opts.tenant, taskId);
        print(state, () => formatReview(state));
      });
    });
  const decision = (name: string, description: string) =>
    review
      .command(name)
      .description(description)
      .addOption(tenantOption())
      .requiredOption('--reviewer <id>', 'your reviewer id')
      .argument('<taskId>');
  const printOutcome = (taskId: string, outcome: ReviewOutcome) =>
    print({ taskId, ...outcome }, () => formatReviewOutcome(taskId, outcome));
  decision(
    'claim',
    'claim the task for yourself: other reviewers cannot decide it until you release it or it lapses',
  ).action(async (taskId: string, opts: { tenant: string; reviewer: string }) => {
    await withClient(async (client) => {
      const claim = await client.claim(opts.tenant, taskId, opts.reviewer);
      print({ taskId, ...claim }, () => `${taskId} claimed by ${claim.reviewerId} until ${claim.expiresAt}`);
    });
  });
  decision('release', 'give your claim on the task back').action(
    async (taskId: string, opts: { tenant: string; reviewer: string }) => {
      await withClient(async (client) => {
        const r = await client.release(opts.tenant, taskId, opts.reviewer);
        print({ taskId, ...r }, () => (r.released ? `${taskId} released` : `${taskId} was not claimed by you`));
      });
    },
  );
  decision('approve', 'approve the drafted answer as it is')
    .option('--note <text>')
    .action(async (taskId: string, opts: { tenant: string; reviewer: string; note?: string }) => {
      await withClient(async (client) =>
        printOutcome(taskId, await client.approve(opts.tenant, taskId, opts.reviewer, opts.note)),
      );
    });
  decision('edit', 'replace the draft with a corrected answer citing retrieved chunks')
    .requiredOption('--answer <text>', 'the corrected answer')
    // Repeatable rather than variadic, so that the task id after it is not taken for one more chunk id.
    .option('--cite <chunkId>', 'a chunk id the answer cites (from `review show`); repeat for several', collect, [])
    .option('--note <text>')
    .action(
      async (
        taskId: string,
        opts: { tenant: string; reviewer: string; answer: string; cite: string[]; note?: string },
      ) => {
        const edit = {
          reviewerId: opts.reviewer,
          answer: opts.answer,
          citations: opts.cite.map((chunkId) => ({ chunkId })),
          note: opts.note,
        };
        await withClient(async (client) => printOutcome(taskId, await client.edit(opts.tenant, taskId, edit)));
      },
    );
  decision('reject', 'reject the draft: the question is answered with no answer')
    .requiredOption('--reason <text>', 'why the draft is wrong')
    .action(async (taskId: string, opts: { tenant: string; reviewer: string; reason: string }) => {
      await withClient(async (client) =>
        printOutcome(taskId, await client.reject(opts.tenant, taskId, opts.reviewer, opts.reason)),
      );
    });
}

function addEvalCommands(program: Command, print: Print): void {
  const evaluation = program.command('eval').description('re-evaluate golden questions');
  addEvalReportCommand(evaluation, print);
  addEvalCompareCommand(evaluation, { print, withClient, tenantOption, readGolden, progress });
  evaluation
    .command('run')
    .description('evaluate a golden set now; exits 3 when drift against the baseline is detected')
    .addOption(tenantOption())
    .requiredOption('--golden <file>', 'golden set JSON: [{ question, expectedDocuments?, expectAnswer? }]')
    .option('--set-baseline', 'make this run the baseline for drift')
    .action(async (opts: { tenant: string; golden: string; setBaseline?: boolean }) => {
      const golden = await readGolden(opts.golden);
      await withClient(async (client) => {
        progress(`evaluating ${golden.length} questions …`);
        const report = await client.runEvaluation({ tenantId: opts.tenant, golden, setBaseline: opts.setBaseline });
        progress('');
        print(report, () => formatEvaluation(report));
        if (report.drift.detected) process.exitCode = 3;
      });
    });
  evaluation
    .command('schedule')
    .description('re-evaluate a golden set on a Temporal Schedule')
    .addOption(tenantOption())
    .requiredOption('--golden <file>', 'golden set JSON')
    .option(
      '--every <interval>',
      'interval, e.g. 1h, 1d',
      checked(z.string().regex(/^\d+(s|m|h|d)$/, 'use an interval such as 30m, 6h or 1d'), '--every'),
      '1d',
    )
    .option('--trigger', 'also run it once now')
    .action(async (opts: { tenant: string; golden: string; every: string; trigger?: boolean }) => {
      const golden = await readGolden(opts.golden);
      await withClient(async (client) => {
        const scheduleId = await client.scheduleEvaluation({ tenantId: opts.tenant, golden, every: opts.every });
        if (opts.trigger) await client.triggerEvaluation(opts.tenant);
        print(
          { scheduleId, every: opts.every },
          () => `schedule ${scheduleId} runs every ${opts.every}${opts.trigger ? ' (triggered now)' : ''}`,
        );
      });
    });
  evaluation
    .command('unschedule')
    .description("delete the tenant's re-evaluation schedule")
    .addOption(tenantOption())
    .action(async (opts: { tenant: string }) => {
      await withClient(async (client) => {
        await client.deleteEvaluationSchedule(opts.tenant);
        print({ deleted: true }, () => 'schedule deleted');
      });
    });
}

/** Runs the CLI; resolves to the exit code (also set as process.exitCode). Errors print one line, or JSON with --json. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const json = argv.includes('--json');
  let code: number;
  try {
    await buildCli().parseAsync(argv);
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed help, or the usage error with the help hint, already.
      code = err.exitCode;
      if (code !== 0 && json)
        process.stdout.write(
          `${JSON.stringify({ error: { code: 'INVALID_USAGE', message: err.message.replace(/^error: /, '') } })}\n`,
        );
    } else {
      const errorCode = err instanceof GroundworkError ? err.code : err instanceof Error ? err.name : 'ERROR';
      const message = err instanceof Error ? err.message : String(err);
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: errorCode, message } })}\n`);
      else process.stderr.write(`error: ${message}\n`);
      code = 1;
    }
  }
  process.exitCode = code;
  return code;
}

if (require.main === module) void main();
