// PII never leaves for an external chat model unless the tenant allows it: through the real worker, a document with
// an email and a card number is asked about against a local OpenAI-compatible server; the server receives
// placeholders (redact, the default), nothing at all (a tenant with block), or the values (a tenant with allow).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../../common/audit';
import { startChatServer } from '../support/chat-server';
import type { ChatServer } from '../support/chat-server';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const DOC = `# Billing\n\nRefund requests go to ${EMAIL} with the card ${CARD} used for the order.\n`;

let server: ChatServer;
let h: Harness;
const received: string[] = [];

beforeAll(async () => {
  server = await startChatServer((body) => {
    received.push(body);
    return JSON.stringify({
      notFound: false,
      claims: [{ text: 'Refund requests go to the billing address given in the document.', refs: ['C1'] }],
      confidence: 0.9,
    });
  });
  h = await startHarness({
    GROUNDWORK_ANSWERS: 'openai',
    GROUNDWORK_EMBEDDINGS: 'offline',
    CHAT_BASE_URL: server.baseUrl,
    CHAT_API_KEY: 'test-key',
    GROUNDWORK_TENANT_PII_POLICY: 'closed=block,open=allow',
  });
  for (const tenantId of ['default', 'closed', 'open']) {
    const file = await writeTemp(h.dataDir, `${tenantId}/billing.md`, DOC);
    await h.client.ingest({ tenantId, documentId: 'billing', source: { kind: 'path', path: file } });
  }
});

afterAll(async () => {
  await h?.stop();
  await server?.close();
});

beforeEach(() => void received.splice(0));

const ask = (tenantId: string) => h.client.ask({ tenantId, question: 'Where do refund requests go?', escalate: false });

test('by default the chat server receives placeholders, never the email or the card number', async () => {
  await ask('default');
  expect(received).toHaveLength(1);
  expect(received[0]).not.toContain(EMAIL);
  expect(received[0]).not.toContain('4111');
  expect(received[0]).toContain('[EMAIL_1]');
  expect(received[0]).toContain('[CARD_1]');
  // The audit trail records what was redacted, by type, for that answer run: counts, never the values.
  const { entries } = await AuditLog.forDataDir(h.dataDir).query('default', { action: 'model.pii' });
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({
    actor: { kind: 'system', id: 'worker' },
    outcome: 'ok',
    target: { kind: 'workflow' },
    details: { policy: 'redact', email: 1, card: 1 },
  });
  expect(entries[0]!.target!.id).toMatch(/^answer:default:/);
  const files = await fs.readdir(path.join(h.dataDir, 'audit', 'default'));
  for (const f of files) {
    const text = await fs.readFile(path.join(h.dataDir, 'audit', 'default', f), 'utf8');
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain('4111');
  }
});

test('a tenant with the block policy sends nothing and gets no served answer', async () => {
  const r = await ask('closed');
  expect(received).toHaveLength(0);
  expect(r.confidence).toBe(0);
  expect(r.status).toBe('not_found');
  const { entries } = await AuditLog.forDataDir(h.dataDir).query('closed', { action: 'model.pii' });
  expect(entries.map((e) => [e.outcome, e.details])).toEqual([
    ['refused', expect.objectContaining({ policy: 'block', email: 1, card: 1 })],
  ]);
});

test('a tenant with the allow policy sends the text as stored', async () => {
  await ask('open');
  expect(received).toHaveLength(1);
  expect(received[0]).toContain(EMAIL);
});
