// Records one history per workflow scenario into test/histories/ for the replay test.
// Run after changing workflow code on purpose (with patched() where old runs must keep replaying):
//   npm run histories:record
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import type { DocumentSource } from '../workflows/definitions';
import { EvaluationStore } from '../activities/evaluation-store';
import { encodeGoldenSet } from '../activities/golden-sets';
import { openObjectStore } from '../common/shared-state';
import { GroundworkClient } from '../client/groundwork-client';
import { loadConfig } from '../common/config';
import { purgeTenantWorkflowId } from '../common/ids';
import { startDevServer } from '../workers/dev-server';
import { startWorker } from '../workers/worker';
import { resolveTemporalCli } from '../workers/temporal-cli';

const samples = path.resolve(__dirname, '..', 'samples');
const out = path.join(__dirname, 'histories');

let address = '';

/** Inline sources keep paths of the recording machine out of the committed histories. */
async function inline(rel: string): Promise<DocumentSource> {
  return {
    kind: 'inline',
    name: path.basename(rel),
    contentBase64: (await fs.readFile(path.join(samples, rel))).toString('base64'),
  };
}

/** Histories are exported by the Temporal CLI itself, in the proto3 JSON format the UI also downloads. */
async function save(name: string, handle: WorkflowHandle): Promise<void> {
  const exported = execFileSync(
    resolveTemporalCli(),
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', address, '--output', 'json'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  // Failure stack traces name files of the recording machine: keep them relative to the repository.
  const root = JSON.stringify(path.resolve(__dirname, '..') + path.sep).slice(1, -1);
  const json = exported.split(root).join('');
  const events = (JSON.parse(json) as { events?: unknown[] }).events ?? [];
  await fs.writeFile(path.join(out, `${name}.json`), json.endsWith('\n') ? json : `${json}\n`);
  process.stdout.write(`recorded ${name} (${events.length} events)\n`);
}

async function main(): Promise<void> {
  const server = await startDevServer({ uiPort: null });
  address = server.address;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-record-'));
  const config = loadConfig({
    GROUNDWORK_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: server.address,
    GROUNDWORK_TENANT_THRESHOLDS: 'strict=0.99',
    GROUNDWORK_METRICS_PORT: '0',
  });
  const worker = await startWorker(config);
  const client = await GroundworkClient.fromConfig(config);
  try {
    await fs.mkdir(out, { recursive: true });
    const handbook = await inline('acme/employee-handbook.pdf');
    const ingest = await client.startIngest({
      tenantId: 'acme',
      documentId: 'employee-handbook.pdf',
      source: handbook,
    });
    await ingest.result();
    await save('ingestDocument-new', ingest);
    const again = await client.startIngest({ tenantId: 'acme', documentId: 'employee-handbook.pdf', source: handbook });
    await again.result();
    await save('ingestDocument-unchanged', again);

    const batch = await client.temporal.workflow.start('ingestBatch', {
      taskQueue: config.temporal.taskQueue,
      workflowId: 'ingest-batch:acme:record',
      args: [
        {
          tenantId: 'acme',
          batchKey: 'record',
          concurrency: 2,
          documents: [
            { documentId: 'sales-2025.xlsx', source: await inline('acme/sales-2025.xlsx') },
            { documentId: 'it-faq.md', source: await inline('acme/it-faq.md') },
          ],
        },
      ],
    });
    await batch.result();
    await save('ingestBatch', batch);
    // The same documents through the client: the list goes to the blob store and the runs read it by reference.
    const manifestBatch = await client.startIngestBatch(
      'acme',
      [
        { documentId: 'sales-2025.xlsx', source: await inline('acme/sales-2025.xlsx') },
        { documentId: 'it-faq.md', source: await inline('acme/it-faq.md') },
      ],
      2,
    );
    await manifestBatch.result();
    await save('ingestBatch-manifest', manifestBatch);

    const ask = await client.startAsk({
      tenantId: 'acme',
      question: 'How many vacation days do full-time employees receive?',
    });
    await ask.result();
    await save('answerQuestion-answered', ask);

    // A tenant with no documents: no_documents, confidence 0, no review (the no-documents-status patch).
    const empty = await client.startAsk({ tenantId: 'empty', question: 'How many vacation days do employees get?' });
    await empty.result();
    await save('answerQuestion-no-documents', empty);

    await client.ingest({ tenantId: 'strict', documentId: 'it-faq.md', source: await inline('acme/it-faq.md') });
    const escalated = await client.startAsk({ tenantId: 'strict', question: 'How often are laptops replaced?' });
    let taskId: string | undefined;
    for (let i = 0; i < 120 && !taskId; i++) {
      taskId = (await client.listReviews('strict')).at(0)?.taskId;
      if (!taskId) await new Promise((r) => setTimeout(r, 250));
    }
    if (!taskId) throw new Error('no review task appeared');
    const state = await client.getReview('strict', taskId);
    await client.edit('strict', taskId, {
      reviewerId: 'recorder',
      answer: 'Every three years.',
      citations: [{ chunkId: state.retrieved[0]!.chunkId }],
    });
    await escalated.result();
    await save('answerQuestion-reviewed', escalated);
    await save('reviewTask-edited', client.temporal.workflow.getHandle(taskId));

    // The golden set by reference, as a client connected to the deployment's stores passes it.
    const golden = JSON.parse(await fs.readFile(path.join(samples, 'golden', 'acme.json'), 'utf8'));
    const goldenRef = await EvaluationStore.inStore(openObjectStore(config), config.dataDir).saveGoldenSet(
      'acme',
      encodeGoldenSet(golden),
    );
    const evalHandle = await client.temporal.workflow.start('evaluateTenant', {
      taskQueue: config.temporal.taskQueue,
      workflowId: 'evaluate:acme:record',
      args: [{ tenantId: 'acme', golden: [], goldenRef }],
    });
    await evalHandle.result();
    await save('evaluateTenant', evalHandle);

    // The document lifecycle: an upload ingested by reference, a failed ingestion (recorded in the registry through
    // the record-ingest-failure patch), a deletion and a tenant purge.
    const upload = await client.uploadFile('lifecycle', path.join(samples, 'acme', 'it-faq.md'));
    const byBlob = await client.startIngest({
      tenantId: 'lifecycle',
      documentId: 'it-faq.md',
      source: { kind: 'blob', ref: upload.ref, name: upload.name },
    });
    await byBlob.result();
    await save('ingestDocument-blob', byBlob);
    const broken = await client.startIngest({
      tenantId: 'lifecycle',
      documentId: 'broken.bin',
      source: {
        kind: 'inline',
        name: 'broken.bin',
        contentBase64: Buffer.from([0, 1, 2, 3, 0, 0, 255]).toString('base64'),
      },
    });
    await broken.result().catch(() => undefined);
    await save('ingestDocument-failed', broken);
    const deletion = await client.startDeleteDocument('lifecycle', 'it-faq.md');
    await deletion.result();
    await save('deleteDocument', deletion);
    await client.purgeTenant('lifecycle');
    await save('purgeTenant', client.temporal.workflow.getHandle(purgeTenantWorkflowId('lifecycle')));
  } finally {
    await client.close();
    await worker.shutdown();
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
