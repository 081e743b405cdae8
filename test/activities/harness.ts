// Shared set-up for the activity tests: real parts only (a LanceDB store in a fresh temp dir, the offline models,
// generated documents), and every activity run through MockActivityEnvironment with the worker's failure-mapping
// interceptor, so a test sees what Temporal would see.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { Activities, AnsweringPolicy, PreparedDocument } from '../../activities';
import { failureMapping } from '../../activities/failures';
import { ExtractiveAnswerer, LexicalEmbedder } from '../../activities/models';
import { LanceDbVectorStore } from '../../activities/vectors/lancedb';
import type { IngestDocumentInput } from '../../workflows/definitions';
import { makeTextPdf } from '../support/documents';

export const POLICY: AnsweringPolicy = {
  defaultThreshold: 0.6,
  tenantThresholds: { strict: 0.9 },
  reviewTimeout: '2 days',
  topK: 5,
  driftTolerance: 0.05,
  targetRisk: 0.05,
};

export const PARSE_LIMITS = { maxBytes: 64 * 1048576, timeoutMs: 120_000, maxMemoryMb: 2048 };

export interface Harness {
  dir: string;
  dataDir: string;
  vectors: LanceDbVectorStore;
  embedder: LexicalEmbedder;
  activities: Activities;
  /** A fresh environment per call (a cancelled one stays cancelled), with the failure-mapping interceptor. */
  env(info?: Partial<Info>): MockActivityEnvironment;
  /** The ingest root: `path` sources are read below `<sources>/<tenant>/` only. */
  sources: string;
  /** Writes bytes to a file below the tenant's ingest root (default acme) and returns its path. */
  file(name: string, bytes: Uint8Array | string, tenantId?: string): Promise<string>;
  /** The staging file of a document version, as an absolute path. */
  stagingFile(ref: string): string;
  close(): Promise<void>;
}

export async function makeHarness(
  options: { embedBatch?: number; parseLimits?: typeof PARSE_LIMITS; policy?: AnsweringPolicy } = {},
): Promise<Harness> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-activities-'));
  const dataDir = path.join(dir, 'data');
  const sources = path.join(dir, 'sources');
  const vectors = new LanceDbVectorStore(path.join(dir, 'lancedb'));
  const embedder = new LexicalEmbedder();
  // The worker readies the store once at start-up (workers/worker.ts) before any activity runs.
  await vectors.ensureReady(embedder.dimensions);
  const activities = createActivities({
    vectors,
    embedder,
    answerer: new ExtractiveAnswerer(),
    dataDir,
    parseLimits: options.parseLimits ?? PARSE_LIMITS,
    embedBatch: options.embedBatch ?? 2,
    policy: options.policy ?? POLICY,
    ingestRoots: [sources],
  });
  const logger = new DefaultLogger('ERROR');
  return {
    dir,
    dataDir,
    vectors,
    embedder,
    activities,
    env: (info = {}) => new MockActivityEnvironment(info, { interceptors: [failureMapping], logger }),
    sources,
    file: async (name, bytes, tenantId = 'acme') => {
      const file = path.join(sources, tenantId, name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, bytes);
      return file;
    },
    stagingFile: (ref) => path.join(dataDir, 'staging', ref),
    close: async () => {
      await vectors.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** env.run with the activity's result type (MockActivityEnvironment.run cannot infer it from the function). */
export function run<A extends unknown[], R>(
  env: MockActivityEnvironment,
  fn: (...args: A) => Promise<R>,
  ...args: A
): Promise<R> {
  return env.run<A, R, typeof fn>(fn, ...args);
}

/** What the activity rejected with; fails the test when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the activity to fail, but it completed');
}

/** What Temporal would record for a failed activity: the ApplicationFailure the interceptor produced. */
export async function applicationFailure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await rejection(promise);
  if (!(err instanceof ApplicationFailure)) {
    throw new Error(
      `expected an ApplicationFailure, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
  }
  return err;
}

/** nextRetryDelay as milliseconds, whatever Duration form the failure holds. */
export const retryDelayMs = (failure: ApplicationFailure): number | undefined =>
  failure.nextRetryDelay === undefined || failure.nextRetryDelay === null
    ? undefined
    : msToNumber(failure.nextRetryDelay);

export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** Five pages, one topic each: the default chunking keeps chunks on their page, so one chunk per page. */
export const HANDBOOK_PAGES: string[][] = [
  [
    'Vacation policy. Full-time employees receive 25 vacation days per calendar year. Unused days carry over until March.',
  ],
  ['Equipment. Laptops are replaced every three years by the IT department.'],
  ['Office hours. The office in Lyon opens at 8 am on weekdays and closes at 6 pm.'],
  ['Travel. Train travel is booked in second class for trips under four hours.'],
  ['Security. Badges must be worn visibly inside the building at all times.'],
];

export const makeHandbook = (pages: string[][] = HANDBOOK_PAGES): Promise<Uint8Array> =>
  makeTextPdf(pages, 'Employee handbook');

export function pathInput(
  tenantId: string,
  documentId: string,
  file: string,
  extra: Partial<IngestDocumentInput> = {},
): IngestDocumentInput {
  return { tenantId, documentId, source: { kind: 'path', path: file }, ...extra };
}

/** prepareDocument's output per (tenant, document, pages): the manifest and the staging file it wrote. */
const prepared = new Map<string, { manifest: PreparedDocument & { stagingRef: string }; json: string }>();

/**
 * Stages a handbook for a tenant and document with the real prepareDocument. Each parse costs a child process, so
 * within a test file the first result is reused: later harnesses get the identical staging file written back.
 */
export async function stage(
  h: Harness,
  tenantId: string,
  documentId: string,
  pages: string[][] = HANDBOOK_PAGES,
): Promise<PreparedDocument & { stagingRef: string }> {
  const key = JSON.stringify([tenantId, documentId, pages]);
  const cached = prepared.get(key);
  if (cached) {
    const file = h.stagingFile(cached.manifest.stagingRef);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, cached.json);
    return cached.manifest;
  }
  const file = await h.file(`${documentId}-${pages.length}.pdf`, await makeHandbook(pages), tenantId);
  const result = await run(h.env(), h.activities.prepareDocument, pathInput(tenantId, documentId, file));
  if (result.unchanged || !result.stagingRef) throw new Error('expected a staged document');
  const manifest = { ...result, stagingRef: result.stagingRef };
  prepared.set(key, { manifest, json: await fs.readFile(h.stagingFile(manifest.stagingRef), 'utf8') });
  return manifest;
}

/** stage → embed → activate, as the ingest workflow does; returns the version and the chunk count. */
export async function ingest(
  h: Harness,
  tenantId: string,
  documentId: string,
  pages: string[][] = HANDBOOK_PAGES,
): Promise<{ version: string; chunks: number }> {
  const p = await stage(h, tenantId, documentId, pages);
  const base = { tenantId, documentId, version: p.version, stagingRef: p.stagingRef };
  await run(h.env(), h.activities.embedAndUpsert, base);
  await run(h.env(), h.activities.activateDocument, base);
  return { version: p.version, chunks: p.chunks };
}
