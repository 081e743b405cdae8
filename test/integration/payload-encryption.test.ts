// GROUNDWORK_PAYLOAD_KEY end to end on the real dev server: with the key set, the history Temporal stores holds no
// question, answer or chunk text in any byte, while the typed client (same key) reads the answer as usual.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { EncryptionCodec } from '../../common/codec';
import { ingestWorkflowId } from '../../workflows/definitions';
import { startHarness, temporalAddress } from './harness';
import type { Harness } from './harness';

const KEY = { id: 'it-key', key: randomBytes(32) };
const DOCUMENT =
  '# Allowances\n\nThe zephyr quota for staff is 42 marmalade tokens per quarter. ' +
  'Unused tokens are stored in the vault on level nine.\n';
const QUESTION = 'What is the zephyr quota for staff?';
/** Words that occur only in the document, the question or the answer: none may reach Temporal in clear text. */
const SECRET_WORDS = ['zephyr', 'Zephyr', 'marmalade', 'level nine', 'quota for staff'];

let h: Harness;
let connection: Connection;
beforeAll(async () => {
  h = await startHarness({
    GROUNDWORK_PAYLOAD_KEY: `${KEY.id}:${KEY.key.toString('base64')}`,
    GROUNDWORK_CONFIDENCE_THRESHOLD: '0',
  });
  connection = await Connection.connect({ address: temporalAddress() });
});
afterAll(async () => {
  await connection?.close();
  await h?.stop();
});

/** The stored history as the server returns it, through the raw gRPC service: no data converter, no codec. */
async function rawHistory(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const res = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: h.config.temporal.namespace,
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(res.history?.events ?? []));
    nextPageToken = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/**
 * Temporal's own marker bookkeeping, written by the SDK core without the data converter: a patch marker's patch id and
 * a local activity marker's activity id, type and timing. Neither holds anything of the tenant (the byte search below
 * covers them too); a local activity's result is a payload of its own and is checked.
 */
const CORE_MARKER_FIELDS: Record<string, string> = { core_patch: 'patch-data', core_local_activity: 'data' };

/** Every Payload in the events, search attributes aside (those are indexed by the server and hold only ids). */
function payloadsOf(value: unknown, out: Payload[] = [], key = ''): Payload[] {
  if (value === null || typeof value !== 'object' || key === 'searchAttributes') return out;
  const marker = value as { markerName?: string; details?: Record<string, unknown> };
  if (marker.markerName && marker.details) {
    for (const [k, v] of Object.entries(marker.details))
      if (CORE_MARKER_FIELDS[marker.markerName] !== k) payloadsOf(v, out, k);
    return out;
  }
  if (value instanceof Uint8Array) return out;
  const record = value as Record<string, unknown>;
  const metadata = record.metadata as Record<string, Uint8Array> | undefined;
  if (metadata && typeof metadata === 'object' && metadata.encoding instanceof Uint8Array) {
    out.push(record as Payload);
    return out;
  }
  for (const [k, v] of Object.entries(record)) payloadsOf(v, out, k);
  return out;
}

function historyBytes(events: temporal.api.history.v1.IHistoryEvent[]): Buffer {
  return Buffer.from(temporal.api.history.v1.History.encode({ events }).finish());
}

test('question, answer and chunk text never appear in the stored history; the typed client reads the answer', async () => {
  // Inline (an upload), so the test does not depend on GROUNDWORK_INGEST_ROOTS; the bytes travel in the input, sealed.
  const ingested = await h.client.ingest({
    tenantId: 'acme',
    documentId: 'policy-7.md',
    source: { kind: 'inline', name: 'policy-7.md', contentBase64: Buffer.from(DOCUMENT).toString('base64') },
  });
  expect(ingested.status).toBe('ingested');

  const handle = await h.client.startAsk({ tenantId: 'acme', question: QUESTION, escalate: false });
  const answer = await handle.result();
  expect(answer.status).toBe('answered');
  expect(answer.answer).toContain('42 marmalade tokens');
  expect(answer.retrieved.length).toBeGreaterThan(0);

  const codec = new EncryptionCodec([KEY]);
  for (const workflowId of [handle.workflowId, ingestWorkflowId('acme', 'policy-7.md')]) {
    const events = await rawHistory(workflowId);
    const bytes = historyBytes(events);
    for (const text of [QUESTION, answer.answer, ...SECRET_WORDS])
      expect({ workflowId, leaked: bytes.includes(Buffer.from(text)) ? text : undefined }).toEqual({
        workflowId,
        leaked: undefined,
      });

    // Not vacuous: every payload in the history is sealed with the key, and opening them finds the text.
    const payloads = payloadsOf(events);
    expect(payloads.length).toBeGreaterThan(3);
    for (const p of payloads) {
      expect(Buffer.from(p.metadata!.encoding!).toString()).toBe('binary/encrypted');
      expect(Buffer.from(p.metadata!['encryption-key-id']!).toString()).toBe(KEY.id);
    }
    const opened = Buffer.concat((await codec.decode(payloads)).map((p) => Buffer.from(p.data ?? new Uint8Array())));
    if (workflowId === handle.workflowId) {
      expect(opened.includes(Buffer.from(QUESTION))).toBe(true);
      expect(opened.includes(Buffer.from('level nine'))).toBe(true); // the retrieved chunk's text
    }
  }

  // The typed client (same key) reads the result from history; a client without the key cannot.
  await expect(h.client.temporal.workflow.getHandle(handle.workflowId).result()).resolves.toMatchObject({
    answer: answer.answer,
  });
  const keyless = new Client({ connection, namespace: h.config.temporal.namespace });
  await expect(keyless.workflow.getHandle(handle.workflowId).result()).rejects.toThrow(/encoding/i);
});
