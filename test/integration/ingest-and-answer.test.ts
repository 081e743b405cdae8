// End to end on the real dev server: ingestion of PDF, spreadsheet and text; cited answers; tenant
// isolation; idempotent re-ingestion (also across a retried activity); bad input.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EmbedProgress } from '../../activities/storage';
import { WorkflowFailedError } from '@temporalio/client';
import { makeTextPdf, makeWorkbook } from '../support/documents';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;
let crashAfterUpsert = 0;
let embedAttempts: { attempt: number; resumedFrom: number; upserted: number }[] = [];

beforeAll(async () => {
  // Fault injection around the real activity: the write happens, then the "worker" dies before reporting.
  // Two chunks per batch, so a document heartbeats several times and a retry can resume part-way.
  h = await startHarness({ GROUNDWORK_EMBED_BATCH: '2' }, (acts) => ({
    ...acts,
    embedAndUpsert: async (input: Parameters<typeof acts.embedAndUpsert>[0]) => {
      const { attempt, heartbeatDetails } = Context.current().info;
      const result = await acts.embedAndUpsert(input);
      embedAttempts.push({
        attempt,
        resumedFrom: (heartbeatDetails as EmbedProgress | undefined)?.next ?? 0,
        upserted: result.upserted,
      });
      if (crashAfterUpsert > 0) {
        crashAfterUpsert -= 1;
        throw new Error('simulated crash after the upsert');
      }
      return result;
    },
  }));
});
afterAll(async () => h?.stop());

async function ingestFile(tenantId: string, name: string, content: Uint8Array | string, documentId = name) {
  const file = await writeTemp(h.dataDir, `${tenantId}/${name}`, content);
  return h.client.ingest({ tenantId, documentId, source: { kind: 'path', path: file } });
}

describe('ingestion and answering', () => {
  beforeAll(async () => {
    await ingestFile(
      'acme',
      'handbook.pdf',
      await makeTextPdf([
        ['Acme handbook', 'Full-time employees receive 25 vacation days per calendar year.'],
        ['Expense reports must be submitted within 30 days of purchase.'],
      ]),
    );
    await ingestFile(
      'acme',
      'sales.xlsx',
      makeWorkbook({
        Revenue: [
          ['Region', 'Q1', 'Q2'],
          ['EMEA', 1200, 1350],
          ['Americas', 2100, 2240],
        ],
      }),
    );
    await ingestFile('globex', 'security.md', '# Security\n\nPasswords are rotated every 90 days at Globex.\n');
  });

  test('answers with citations that name the document and page', async () => {
    const r = await h.client.ask({
      tenantId: 'acme',
      question: 'How many vacation days do full-time employees receive?',
    });
    expect(r.status).toBe('answered');
    expect(r.answer).toContain('25 vacation days');
    expect(r.citations.length).toBeGreaterThan(0);
    const c = r.citations[0]!;
    expect(c.documentId).toBe('handbook.pdf');
    expect(c.locator).toBe('p. 1');
    expect(c.quote).toContain('25 vacation days');
    // Every citation names a chunk retrieved for this tenant in that run.
    const retrievedIds = new Set(r.retrieved.map((x) => x.chunkId));
    for (const cit of r.citations) expect(retrievedIds.has(cit.chunkId)).toBe(true);
  });

  test('answers from a spreadsheet cell and cites that cell', async () => {
    const r = await h.client.ask({ tenantId: 'acme', question: 'What was the EMEA revenue in Q2?', escalate: false });
    const c = r.citations.find((x) => x.documentId === 'sales.xlsx');
    expect(c).toBeDefined();
    expect(c!.locator).toMatch(/^Revenue!C\d+$/);
    expect(c!.quote).toContain('Q2: 1350');
    expect(r.answer).toContain('1350');
    expect(r.answer).not.toContain('1200');
  });

  test("a tenant never retrieves or cites another tenant's chunks", async () => {
    const r = await h.client.ask({
      tenantId: 'acme',
      question: 'How often are passwords rotated at Globex?',
      escalate: false,
    });
    for (const c of [...r.retrieved, ...r.citations]) expect(['handbook.pdf', 'sales.xlsx']).toContain(c.documentId);
    expect(r.answer).not.toContain('90 days');
    const g = await h.client.ask({
      tenantId: 'globex',
      question: 'How many vacation days do employees receive?',
      escalate: false,
    });
    for (const c of [...g.retrieved, ...g.citations]) expect(c.documentId).toBe('security.md');
    expect(await h.worker.vectors.count('globex')).toBeGreaterThan(0);
    for (const documentId of ['handbook.pdf', 'sales.xlsx'])
      expect(await h.worker.vectors.count('acme', { documentId })).toBeGreaterThan(0);
    expect(await h.worker.vectors.count('acme', { documentId: 'security.md' })).toBe(0);
  });

  test('says the documents do not contain the answer instead of inventing one', async () => {
    const r = await h.client.ask({
      tenantId: 'globex',
      question: 'Who founded the zeppelin company in Friedrichshafen?',
      escalate: false,
    });
    expect(r.status).toBe('not_found');
    expect(r.citations).toEqual([]);
  });
});

describe('idempotent re-ingestion', () => {
  test('ingesting the same bytes twice is a no-op with the same point count', async () => {
    const content = '# Policy\n\nVisitors must sign in at reception.\n\nBadges are returned at the end of the day.\n';
    const first = await ingestFile('initech', 'visitors.md', content);
    const countAfterFirst = await h.worker.vectors.count('initech');
    const second = await ingestFile('initech', 'visitors.md', content);
    expect(first.status).toBe('ingested');
    expect(second.status).toBe('unchanged');
    expect(second.version).toBe(first.version);
    expect(await h.worker.vectors.count('initech')).toBe(countAfterFirst);
    expect(countAfterFirst).toBe(first.chunks);
  });

  test('a retried embed activity resumes from its last heartbeat and does not duplicate points', async () => {
    crashAfterUpsert = 1;
    embedAttempts = [];
    const sections = ['Fire drills', 'Parking', 'Visitors', 'Badges', 'Lunch', 'Printing'].map(
      (title, i) =>
        `# ${title}\n\n${`Rule ${i + 1} of the ${title.toLowerCase()} policy applies to everyone on site. `.repeat(40)}\n`,
    );
    const r = await ingestFile('initech', 'retry.md', sections.join('\n'));
    expect(r.chunks).toBeGreaterThanOrEqual(4);
    const [first, second] = embedAttempts;
    expect(embedAttempts).toHaveLength(2);
    expect(first).toEqual({ attempt: 1, resumedFrom: 0, upserted: r.chunks });
    // Resumed: the second attempt starts where the first one's heartbeat said, and writes only the rest.
    expect(second!.attempt).toBe(2);
    expect(second!.resumedFrom).toBeGreaterThan(0);
    expect(second!.upserted).toBe(r.chunks - second!.resumedFrom);
    expect(await h.worker.vectors.count('initech', { documentId: 'retry.md' })).toBe(r.chunks);
  });

  test('changed content replaces the old version without losing or duplicating chunks', async () => {
    await ingestFile('initech', 'changing.md', '# V1\n\nThe cafeteria opens at 8.\n');
    const v2 = await ingestFile('initech', 'changing.md', '# V2\n\nThe cafeteria opens at 9.\n\nIt closes at 15.\n');
    expect(v2.status).toBe('ingested');
    expect(v2.retired).toBeGreaterThan(0);
    expect(await h.worker.vectors.count('initech', { documentId: 'changing.md' })).toBe(v2.chunks);
    expect(await h.worker.vectors.activeVersion('initech', 'changing.md')).toBe(v2.version);
  });
});

describe('bad input', () => {
  test('garbage bytes fail with a typed non-retryable error, the worker keeps serving and nothing stored changes', async () => {
    await ingestFile('umbrella', 'ok.md', '# Ok\n\nThe lab opens at 7.\n');
    const before = await h.worker.vectors.count('umbrella');
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256);
    const err = await ingestFile('umbrella', 'broken.pdf', garbage).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(['UNSUPPORTED_TYPE', 'PDF_CORRUPT']).toContain((cause as ApplicationFailure).type);
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    // Same document id as a good one: the failed re-ingestion must leave the active version in place.
    const err2 = await ingestFile('umbrella', 'ok.md', new Uint8Array(0)).catch((e: unknown) => e);
    expect(((err2 as WorkflowFailedError).cause as ApplicationFailure).type).toBe('EMPTY_FILE');
    expect(await h.worker.vectors.count('umbrella')).toBe(before);
    const next = await ingestFile('umbrella', 'after.md', '# After\n\nStill serving.\n');
    expect(next.status).toBe('ingested');
  });
});
