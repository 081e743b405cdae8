// PDF passwords on the real dev server, without payload encryption: the password reaches the parse activity through
// the secret store, so the workflow history — exported with the Temporal CLI, as an operator would — never holds it,
// and the stored secret is gone once the ingestion has used it.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ingestWorkflowId } from '../../workflows/definitions';
import type { DocumentSource } from '../../workflows/definitions';
import { resolveTemporalCli } from '../../workers/temporal-cli';
import { makeEncryptedPdf } from '../support/encrypted-pdf';
import { startHarness, temporalAddress } from './harness';
import type { Harness } from './harness';

const PASSWORD = 'Kx7-pdf-secret-fjord';
const WRONG_PASSWORD = 'Qw9-wrong-guess-tundra';

let h: Harness;
let cli: string;
beforeAll(async () => {
  cli = resolveTemporalCli({ log: () => undefined });
  h = await startHarness();
});
afterAll(async () => h?.stop());

/**
 * The issue's own check: the history as the Temporal CLI exports it (`temporal workflow show … --output json`). That
 * JSON carries payload data in base64, so the text searched is the export itself plus every payload it holds, decoded.
 */
function exportedHistory(workflowId: string): string {
  const exported = execFileSync(
    cli,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      temporalAddress(),
      '--namespace',
      h.config.temporal.namespace,
      '--output',
      'json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.data === 'string' && typeof record.metadata === 'object')
        decoded.push(Buffer.from(record.data, 'base64').toString('utf8'));
      Object.values(record).forEach(walk);
    }
  };
  walk(JSON.parse(exported));
  expect(decoded.length).toBeGreaterThan(0);
  return [exported, ...decoded].join('\n');
}

/** What is left in the secret store: finished secrets and interrupted writes alike. */
async function secretFiles(): Promise<string[]> {
  return fs.readdir(path.join(h.dataDir, 'secrets')).catch(() => [] as string[]);
}

/** An inline source (an upload), so the test does not depend on GROUNDWORK_INGEST_ROOTS. */
function lockedPdf(name: string): DocumentSource {
  const bytes = makeEncryptedPdf({
    text: ['Board minutes. The aurora budget is 17 lanterns per quarter.'],
    userPassword: PASSWORD,
  });
  return { kind: 'inline', name, contentBase64: Buffer.from(bytes).toString('base64') };
}

/** The failure types along a failure's cause chain (workflow → activity → application failure). */
function failureTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (e instanceof ApplicationFailure) types.push(e.type ?? '');
  return types;
}

test('a password-protected PDF ingests; the password is nowhere in the exported history, and its secret is gone', async () => {
  const result = await h.client.ingest({
    tenantId: 'acme',
    documentId: 'board.pdf',
    source: lockedPdf('board.pdf'),
    password: PASSWORD,
  });
  expect(result).toMatchObject({ status: 'ingested', chunks: 1, pages: 1 });

  const history = exportedHistory(ingestWorkflowId('acme', 'board.pdf'));
  expect(history).toContain('prepareDocument'); // the export is real and holds the activity's input …
  expect(history).toMatch(/secret:[0-9a-f]{32}/); // … which names the password by reference only
  expect(history).not.toContain(PASSWORD);
  expect(await secretFiles()).toEqual([]);

  const answer = await h.client.ask({ tenantId: 'acme', question: 'What is the aurora budget?', escalate: false });
  expect(answer.answer).toContain('17 lanterns');
});

test('a wrong password fails with PDF_BAD_PASSWORD; neither password reaches history and the secret is gone', async () => {
  const err = await h.client
    .ingest({ tenantId: 'acme', documentId: 'minutes.pdf', source: lockedPdf('minutes.pdf'), password: WRONG_PASSWORD })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(failureTypes(err)).toContain('PDF_BAD_PASSWORD');

  const history = exportedHistory(ingestWorkflowId('acme', 'minutes.pdf'));
  expect(history).toContain('PDF_BAD_PASSWORD');
  expect(history).not.toContain(WRONG_PASSWORD);
  expect(history).not.toContain(PASSWORD);
  expect(await secretFiles()).toEqual([]);
});
