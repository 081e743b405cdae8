// The review console's pure parts: statistics, highlight boxes, the notification message and links, and the rule
// that only an identical request joins an answer run.
import { highlightBoxes } from '../../activities/review-sources';
import { notificationOptions, slackMessage, taskLink } from '../../activities/notifications';
import { loadConfig } from '../../common/config';
import { consoleUrlFor } from '../../client/http/console/links';
import type { QueueRow } from '../../client/http/console/queue';
import { computeStats, median, weekOf } from '../../client/http/console/stats';
import { answerWorkflowId } from '../../workflows/definitions';

const HOUR = 3_600_000;
const now = Date.parse('2026-11-23T12:00:00Z'); // a Monday

function row(over: Partial<QueueRow>): QueueRow {
  return {
    taskId: 'review:t:x',
    status: 'open',
    question: 'q',
    confidence: 0.5,
    threshold: 0.8,
    openedAt: new Date(now - HOUR / 2).toISOString(),
    ...over,
  };
}

test('statistics: backlog by age, median time to decision, decisions per week, agreement per confidence band', () => {
  const decided = (decision: string, confidence: number, openedH: number, tookH: number): QueueRow =>
    row({
      status: decision,
      decision,
      confidence,
      openedAt: new Date(now - openedH * HOUR).toISOString(),
      decidedAt: new Date(now - openedH * HOUR + tookH * HOUR).toISOString(),
    });
  const st = computeStats(
    [
      row({}),
      row({ status: 'claimed', openedAt: new Date(now - 2 * HOUR).toISOString() }),
      row({ status: 'escalated', openedAt: new Date(now - 30 * HOUR).toISOString() }),
      decided('approved', 0.75, 10, 1),
      decided('edited', 0.72, 20, 3),
      decided('rejected', 0.1, 100, 5),
      decided('expired', 0.3, 100, 48),
    ],
    now,
  );
  expect(st.backlog).toEqual([
    { bucket: '< 1 h', count: 1 },
    { bucket: '1–4 h', count: 1 },
    { bucket: '4–24 h', count: 0 },
    { bucket: '1–3 d', count: 1 },
    { bucket: '> 3 d', count: 0 },
  ]);
  expect(st.decided).toBe(3); // expiry is not a reviewer's decision
  expect(st.medianDecisionMs).toBe(3 * HOUR);
  expect(st.weekly).toHaveLength(8);
  expect(st.weekly.at(-1)).toEqual({ week: '2026-11-23', approved: 1, edited: 0, rejected: 0 });
  expect(st.weekly.at(-2)).toEqual({ week: '2026-11-16', approved: 0, edited: 1, rejected: 1 });
  const band = st.agreement.find((a) => a.band === '0.6–0.8');
  expect(band).toEqual({ band: '0.6–0.8', decided: 2, approved: 1, rate: 0.5 });
  expect(st.agreement.find((a) => a.band === '0.0–0.2')).toMatchObject({ decided: 1, rate: 0 });
  expect(st.agreement.find((a) => a.band === '0.8–1.0')).toMatchObject({ decided: 0, rate: null });
});

test('weeks start on Monday (UTC) and the median of an even list is the mean of the middle two', () => {
  expect(weekOf(Date.parse('2026-11-29T23:59:00Z'))).toBe('2026-11-23');
  expect(weekOf(Date.parse('2026-11-23T00:00:00Z'))).toBe('2026-11-23');
  expect(median([])).toBeNull();
  expect(median([4, 1, 3, 2])).toBe(2.5);
});

test('highlights cover the text items of the cited passage, not the rest of the page', () => {
  const items = [
    { str: 'Facilities', x: 0.1, y: 0.1, w: 0.2, h: 0.02 },
    { str: 'Parking spaces are assigned by the facilities team.', x: 0.1, y: 0.2, w: 0.5, h: 0.02 },
    { str: 'Lunch is served at noon in the canteen.', x: 0.1, y: 0.3, w: 0.5, h: 0.02 },
    { str: '   ', x: 0.1, y: 0.4, w: 0.5, h: 0.02 },
  ];
  const boxes = highlightBoxes(items, 'Facilities\nParking spaces are assigned by the facilities team.');
  expect(boxes).toEqual([
    { x: 0.1, y: 0.1, w: 0.2, h: 0.02 },
    { x: 0.1, y: 0.2, w: 0.5, h: 0.02 },
  ]);
});

test('the notification is Slack-compatible, links to the task page and carries no question text', () => {
  const link = taskLink('https://review.example/console/', 'acme', 'review:acme:abc-1');
  expect(link).toBe('https://review.example/console/#/t/acme/task/review%3Aacme%3Aabc-1');
  const msg = slackMessage(
    { tenantId: 'acme', taskId: 'review:acme:abc-1', event: 'escalated', confidence: 0.41, threshold: 0.6 },
    link,
  );
  expect(msg.text).toContain('escalated');
  expect(msg.text).toContain(`<${link}|Open the task>`);
  expect(JSON.stringify(msg.blocks)).toContain(link);
  const settings = loadConfig({ GROUNDWORK_HTTP_PORT: '9090' }).review;
  expect(notificationOptions(settings)).toEqual({
    webhookUrl: undefined,
    consoleUrl: 'http://127.0.0.1:9090/console/',
  });
});

test('review settings: claim timeout, webhook and console address; a bad webhook URL is a configuration error', () => {
  const c = loadConfig({
    GROUNDWORK_REVIEW_CLAIM_TIMEOUT: '5m',
    GROUNDWORK_REVIEW_WEBHOOK_URL: 'https://hooks.example/T1/B2/secret',
    GROUNDWORK_REVIEW_CONSOLE_URL: 'https://review.example/console',
  });
  expect(c.review).toMatchObject({ claimTimeoutMs: 300_000, consoleUrl: 'https://review.example/console/' });
  expect(() => loadConfig({ GROUNDWORK_REVIEW_WEBHOOK_URL: 'not a url' })).toThrow(/GROUNDWORK_REVIEW_WEBHOOK_URL/);
  // The webhook URL holds a secret: never echoed in the error.
  expect(() => loadConfig({ GROUNDWORK_REVIEW_WEBHOOK_URL: 'secret-thing' })).toThrow(/^(?!.*secret-thing)/s);
  // Links use the request's host when no console address is configured, but only a plain host[:port].
  const plain = loadConfig({});
  const req = (host: string) => ({ headers: { host } }) as never;
  expect(consoleUrlFor(plain, req('10.0.0.5:8080'))).toBe('http://10.0.0.5:8080/console/');
  expect(consoleUrlFor(plain, req('evil.example/x?'))).toBe(plain.review.fallbackConsoleUrl);
  expect(consoleUrlFor(c, req('10.0.0.5:8080'))).toBe('https://review.example/console/');
});

test('only an identical request joins an answer run: other options make another workflow id', () => {
  const plain = answerWorkflowId('acme', 'How many days?');
  expect(plain).toMatch(/^answer:acme:[0-9a-f]{16}$/);
  expect(answerWorkflowId('acme', 'how many days', {})).toBe(plain);
  const noEscalate = answerWorkflowId('acme', 'How many days?', { escalate: false });
  const topK = answerWorkflowId('acme', 'How many days?', { topK: 3 });
  expect(new Set([plain, noEscalate, topK, answerWorkflowId('acme', 'How many days?', { threshold: 0.9 })]).size).toBe(
    4,
  );
  expect(noEscalate.startsWith(`${plain}-`)).toBe(true);
  expect(answerWorkflowId('acme', 'How many days?', { escalate: true })).toBe(plain);
});
