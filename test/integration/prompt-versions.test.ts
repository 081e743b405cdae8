// Prompt versions through the real worker and a local OpenAI-compatible server (127.0.0.1): an answer records the
// pinned version and the server receives that version's system prompt; a question may ask for another version; and
// `eval compare` evaluates the golden set once per version through the evaluation workflow and prints both.
// The fake model behaves like the change v2 is for: with v1 it answers a near-miss question from a related sentence,
// with v2 (stricter abstention) it says "not found".
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { answerPrompt } from '../../activities/models/prompts';
import { main } from '../../client/cli';
import { comparePromptVersions, formatComparison } from '../../client/cli-eval-compare';
import type { PromptComparison } from '../../client/cli-eval-compare';
import type { EvaluationReport, GoldenQuestion } from '../../workflows/definitions';
import { startChatServer } from '../support/chat-server';
import type { ChatServer } from '../support/chat-server';
import { startHarness, temporalAddress, writeTemp } from './harness';
import type { Harness } from './harness';

const TENANT = 'promptco';
const SENTENCE = 'Expense reports must be submitted within 30 days of purchase.';
const DOC = `# Expenses\n\n${SENTENCE}\n`;
const ANSWERABLE = 'How many days do employees have to submit expense reports?';
/** Close to the document's sentence, but the document does not answer it. */
const NEAR_MISS = 'How many days do employees have to submit travel reports?';

let server: ChatServer;
let h: Harness;
/** The system message and question of every chat request the server received. */
const received: { system: string; question: string }[] = [];

function reply(system: string, user: string): string {
  const question = /<question>\n([\s\S]*?)\n<\/question>/.exec(user)?.[1] ?? '';
  const ref = /<chunk ref="(C\d+)"/.exec(user)?.[1] ?? 'C1';
  received.push({ system, question });
  const strict = system.includes('when in doubt, set notFound to true');
  if (strict && question.includes('travel')) return JSON.stringify({ notFound: true, claims: [], confidence: 0.2 });
  return JSON.stringify({ notFound: false, claims: [{ text: SENTENCE, refs: [ref] }], confidence: 0.9 });
}

beforeAll(async () => {
  server = await startChatServer((body) => {
    const { messages } = JSON.parse(body) as { messages: { role: string; content: string }[] };
    return reply(
      messages.find((m) => m.role === 'system')?.content ?? '',
      messages.find((m) => m.role === 'user')?.content ?? '',
    );
  });
  h = await startHarness({
    GROUNDWORK_ANSWERS: 'openai',
    GROUNDWORK_EMBEDDINGS: 'offline',
    CHAT_BASE_URL: server.baseUrl,
    CHAT_API_KEY: 'test-key',
    CHAT_MODEL: 'fake-chat',
    // The older version pinned: the default (the latest) is not what the worker uses.
    GROUNDWORK_PROMPT_VERSION: 'v1',
  });
  const file = await writeTemp(h.dataDir, `${TENANT}/expenses.md`, DOC);
  await h.client.ingest({ tenantId: TENANT, documentId: 'expenses.md', source: { kind: 'path', path: file } });
});

afterAll(async () => {
  await h?.stop();
  await server?.close();
});

beforeEach(() => void received.splice(0));

test('an answer records the pinned prompt version and the model got that version’s system prompt', async () => {
  const r = await h.client.ask({ tenantId: TENANT, question: ANSWERABLE, escalate: false });
  expect(r.status).toBe('answered');
  expect(r.promptVersion).toBe('v1');
  expect(r.model).toBe('openai:fake-chat');
  expect(received).toHaveLength(1);
  expect(received[0]!.system).toBe(answerPrompt('v1').system);
});

test('a question asked with its own prompt version is answered with that version', async () => {
  const r = await h.client.ask({ tenantId: TENANT, question: NEAR_MISS, escalate: false, promptVersion: 'v2' });
  expect(r.promptVersion).toBe('v2');
  expect(received.map((x) => x.system)).toEqual([answerPrompt('v2').system]);
  expect(r.status).toBe('not_found');
});

const golden: GoldenQuestion[] = [
  { question: ANSWERABLE, expectedDocuments: ['expenses.md'], expectedAnswerContains: '30 days' },
  { question: NEAR_MISS, expectAnswer: false },
];

test('eval compare runs the golden set with each version through the evaluation workflow', async () => {
  const c = await comparePromptVersions(h.client, {
    tenantId: TENANT,
    golden,
    promptVersions: ['v1', 'v2'],
    dataDir: h.config.dataDir,
  });
  expect(c.runs.map((r) => r.promptVersion)).toEqual(['v1', 'v2']);
  // What the drafts recorded, from the worker: the version asked for, not the pinned one.
  expect(c.runs.map((r) => r.drafted)).toEqual([
    { promptVersion: 'v1', model: 'openai:fake-chat' },
    { promptVersion: 'v2', model: 'openai:fake-chat' },
  ]);
  // The model saw each version's system prompt for both questions.
  const systems = received.map((x) => x.system);
  expect(systems.filter((s) => s === answerPrompt('v1').system)).toHaveLength(2);
  expect(systems.filter((s) => s === answerPrompt('v2').system)).toHaveLength(2);

  const [v1, v2] = c.runs;
  // v1 answers the near miss (wrong), v2 abstains (right).
  expect(v1!.metrics.accuracy).toBe(0.5);
  expect(v2!.metrics.accuracy).toBe(1);
  expect(v1!.metrics.notFoundAccuracy).toBe(0);
  expect(v2!.metrics.notFoundAccuracy).toBe(1);
  expect(v2!.metrics.servedWrongRate).toBe(0);
  expect(v1!.metrics.p50LatencyMs).toBeGreaterThan(0);
  expect(c.differences).toEqual([
    expect.objectContaining({ promptVersion: 'v2', versus: 'v1', delta: expect.objectContaining({ accuracy: 0.5 }) }),
  ]);
  expect(c.warnings).toEqual([]);
  const text = formatComparison(c);
  expect(text).toMatch(/^accuracy\s+0\.500\s+1\.000\s+\+0\.500$/m);
  expect(text).toMatch(/^not-found accuracy\s+0\.000\s+1\.000\s+\+1\.000$/m);
  expect(text).toContain('GROUNDWORK_PROMPT_VERSION');

  // The saved report names the version and model; experiments set no baseline and label no calibration.
  const dir = path.join(h.config.dataDir, 'evaluations', TENANT);
  const latest = JSON.parse(await fs.readFile(path.join(dir, 'latest.json'), 'utf8')) as EvaluationReport;
  expect(latest).toMatchObject({ promptVersion: 'v2', model: 'openai:fake-chat', servedWrongRate: 0 });
  await expect(fs.access(path.join(dir, 'baseline.json'))).rejects.toThrow();
  await expect(fs.access(path.join(dir, 'labels'))).rejects.toThrow(); // labels are objects below labels/
});

test('`groundwork eval compare --json` prints both versions’ metrics and differences', async () => {
  const goldenFile = path.join(h.dataDir, 'golden.json');
  await fs.writeFile(goldenFile, JSON.stringify(golden));
  const saved = { ...process.env };
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    GROUNDWORK_DATA_DIR: h.dataDir,
  });
  let out = '';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  let code: number;
  try {
    code = await main(
      ['node', 'groundwork', '--json', 'eval', 'compare', '--tenant', TENANT, '--golden', goldenFile].concat([
        '--prompt-version',
        'v1',
        '--prompt-version',
        'v2',
      ]),
    );
  } finally {
    write.mockRestore();
    process.env = saved;
    process.exitCode = undefined;
  }
  expect(code).toBe(0);
  const c = JSON.parse(out) as PromptComparison;
  expect(c.runs.map((r) => [r.promptVersion, r.metrics.accuracy, r.metrics.notFoundAccuracy])).toEqual([
    ['v1', 0.5, 0],
    ['v2', 1, 1],
  ]);
  expect(c.differences[0]!.delta.notFoundAccuracy).toBe(1);
});

test('eval compare refuses an unknown version before anything runs', async () => {
  const before = received.length;
  await expect(
    comparePromptVersions(h.client, { tenantId: TENANT, golden, promptVersions: ['v1', 'v9'] }),
  ).rejects.toMatchObject({ code: 'PROMPT_VERSION_UNKNOWN' });
  expect(received.length).toBe(before);
});
