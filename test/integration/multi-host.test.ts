// Two worker "hosts" with different data dirs against one dev server, one real MinIO bucket (S3_*) and one vector
// store (a real Qdrant when the binary is present; otherwise one LanceDB folder both mount). A document is parsed and
// staged on host A, whose embedding step then fails; host B, which never saw A's disk, embeds and activates it from
// the staged object. Answers, the registry, evaluation baselines and deletion then work from either host, and neither
// data dir holds any shared state.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { GroundworkClient } from '../../client/groundwork-client';
import { loadConfig } from '../../common/config';
import { S3ObjectStore } from '../../common/s3-object-store';
import { makeTextPdf } from '../support/documents';
import { makeEncryptedPdf } from '../support/encrypted-pdf';
import { MINIO_START_TIMEOUT_MS, minioUnavailableReason, startTestMinio } from '../support/minio-server';
import type { MinioServer } from '../support/minio-server';
import { qdrantAvailable, startQdrant } from '../support/qdrant-server';
import type { QdrantServer } from '../support/qdrant-server';
import { eventually, startHarness, temporalAddress } from './harness';
import type { Harness } from './harness';

const skipReason = minioUnavailableReason();
if (skipReason) console.warn(`[multi-host] skipped: ${skipReason}`);
const maybe = skipReason ? describe.skip : describe;

const TENANT = 'hostco';
const SHARED_STATE = ['staging', 'documents', 'blobs', 'evaluations', 'corpus', 'review-sources', 'secrets'];

maybe('several worker hosts share state through the object store, not their disks', () => {
  let minio: MinioServer | undefined;
  let qdrant: QdrantServer | undefined;
  let lancedbDir: string | undefined;
  let bucket: S3ObjectStore;
  let env: Record<string, string>;
  const hosts: Harness[] = [];

  beforeAll(async () => {
    minio = await startTestMinio();
    if (!minio) throw new Error('MinIO did not start');
    const prefix = `mh-${randomBytes(4).toString('hex')}`;
    env = {
      TEMPORAL_TASK_QUEUE: `multi-host-${randomBytes(4).toString('hex')}`,
      S3_ENDPOINT: minio.endpoint,
      S3_BUCKET: 'groundwork-test',
      S3_ACCESS_KEY_ID: minio.accessKeyId,
      S3_SECRET_ACCESS_KEY: minio.secretAccessKey,
      S3_PREFIX: prefix,
    };
    bucket = new S3ObjectStore({
      endpoint: minio.endpoint,
      bucket: 'groundwork-test',
      accessKeyId: minio.accessKeyId,
      secretAccessKey: minio.secretAccessKey,
      prefix,
    });
    await bucket.ensureBucket();
    if (qdrantAvailable()) {
      qdrant = await startQdrant();
      Object.assign(env, { QDRANT_URL: qdrant.url, QDRANT_COLLECTION: `multi_host_${randomBytes(4).toString('hex')}` });
    } else {
      lancedbDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-mh-lancedb-'));
      env.LANCEDB_DIR = lancedbDir;
    }
  }, MINIO_START_TIMEOUT_MS);

  afterAll(async () => {
    for (const h of hosts) await h.stop().catch(() => undefined);
    await qdrant?.stop();
    await minio?.stop();
    if (lancedbDir) await fs.rm(lancedbDir, { recursive: true, force: true });
  });

  /** What a host keeps of the shared state on its own disk: nothing. */
  const localSharedState = (h: Harness): string[] => SHARED_STATE.filter((d) => existsSync(path.join(h.dataDir, d)));

  test('a document parsed on one host is embedded on another; answers, registry, baselines and deletion follow', async () => {
    // Host A parses and stages, then cannot embed (its embedding step fails every time, retryably).
    let embedCallsOnA = 0;
    const a = await startHarness(env, (acts) => ({
      ...acts,
      embedAndUpsert: async () => {
        embedCallsOnA += 1;
        throw ApplicationFailure.retryable('host A cannot reach the embedder', 'HOST_A_DOWN');
      },
    }));
    hosts.push(a);
    const pdf = path.join(a.dataDir, 'upload', 'handbook.pdf');
    await fs.mkdir(path.dirname(pdf), { recursive: true });
    await fs.writeFile(
      pdf,
      await makeTextPdf([
        ['Hostco handbook', 'Every employee receives 27 vacation days per calendar year.'],
        ['Travel must be booked through the Hostco travel desk.'],
      ]),
    );
    const uploaded = await a.client.uploadFile(TENANT, pdf);
    await fs.rm(pdf);
    expect((await bucket.list('blobs')).length).toBe(1); // the upload went to the bucket
    const ingestion = await a.client.startIngest({
      tenantId: TENANT,
      documentId: 'handbook.pdf',
      source: { kind: 'blob', ref: uploaded.ref, name: uploaded.name },
    });
    await eventually(async () => embedCallsOnA > 0 || undefined, 60_000, 'host A to parse and try to embed');
    const staged = await bucket.list('staging');
    expect(staged).toHaveLength(1);
    expect(localSharedState(a)).toEqual([]);
    await a.worker.shutdown();

    // Host B, another data dir, picks up the retry from the staged object A left in the bucket.
    const b = await startHarness(env);
    hosts.push(b);
    const ingested = await ingestion.result();
    expect(ingested.status).toBe('ingested');
    expect(ingested.chunks).toBeGreaterThan(0);
    expect(await bucket.list('staging')).toEqual([]);

    // A client on a third data dir sees the registry the hosts wrote.
    const clientDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-mh-client-'));
    const c = await GroundworkClient.fromConfig(
      loadConfig({
        ...env,
        GROUNDWORK_DATA_DIR: clientDir,
        TEMPORAL_ADDRESS: temporalAddress(),
      }),
    );
    try {
      const [doc] = await c.listDocuments(TENANT);
      expect(doc).toMatchObject({ documentId: 'handbook.pdf', status: 'live', chunks: ingested.chunks });

      const answer = await c.ask({ tenantId: TENANT, question: 'How many vacation days does an employee receive?' });
      expect(answer.status).toBe('answered');
      expect(answer.answer).toContain('27 vacation days');
      expect(answer.citations[0]?.documentId).toBe('handbook.pdf');

      const golden = [
        {
          question: 'How many vacation days does an employee receive?',
          expectedDocuments: ['handbook.pdf'],
          expectedAnswerContains: '27',
        },
      ];
      const first = await c.runEvaluation({ tenantId: TENANT, golden, setBaseline: true });
      expect(first.baseline).toBeUndefined();
      expect(localSharedState(b)).toEqual([]);

      // B goes away; a fresh host A' (yet another data dir) finds the baseline and the document.
      await b.worker.shutdown();
      const a2 = await startHarness(env);
      hosts.push(a2);
      const second = await c.runEvaluation({ tenantId: TENANT, golden });
      expect(second.baseline).toEqual(first.metrics);
      expect(second.drift.detected).toBe(false);
      const again = await c.ask({ tenantId: TENANT, question: 'How do employees book travel?' });
      expect(again.citations[0]?.documentId).toBe('handbook.pdf');

      // A password given to a client on its own data dir reaches the host that parses (through the bucket).
      const locked = await c.ingest({
        tenantId: TENANT,
        documentId: 'minutes.pdf',
        source: {
          kind: 'inline',
          name: 'minutes.pdf',
          contentBase64: Buffer.from(
            makeEncryptedPdf({ text: ['The aurora budget is 17 lanterns per quarter.'], userPassword: 'open sesame' }),
          ).toString('base64'),
        },
        password: 'open sesame',
      });
      expect(locked.status).toBe('ingested');
      expect(await bucket.list('secrets')).toEqual([]); // used once, then removed
      await c.deleteDocument(TENANT, 'minutes.pdf');

      const deleted = await c.deleteDocument(TENANT, 'handbook.pdf');
      expect(deleted.blobs).toBe(1);
      expect(await c.listDocuments(TENANT)).toEqual([]);
      expect(await bucket.list('blobs')).toEqual([]);
      expect(await bucket.list('documents')).toEqual([]);
      expect(localSharedState(a2)).toEqual([]);
    } finally {
      await c.close();
      await fs.rm(clientDir, { recursive: true, force: true });
    }
  });
});
