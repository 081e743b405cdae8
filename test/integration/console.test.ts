// The review console end to end in a real browser (the system Chromium, headless, driven by playwright-core) against
// the real stack: a worker, the HTTP API, the dev server. A reviewer signs in, sees an escalated task appear, claims
// it, opens the cited PDF page with its highlight, edits the answer with a citation picked from the list (after the
// validator refused an empty answer and a foreign citation), and the answer workflow completes with the edit; a
// second reviewer is refused; another task is rejected and a third approved. Screenshots go to test-artifacts/.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { chromium } from 'playwright-core';
import * as XLSX from 'xlsx';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const CHROMIUM = process.env.GROUNDWORK_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'console');
const TENANT = 'consoleco';

let h: Harness;
let api: HttpApi;
let browser: Browser;
let lee: string;
let kim: string;
let reader: string;
const pageErrors: string[] = [];

async function handbookPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const pages = [
    ['Employee handbook', '', 'Employees get 25 vacation days per calendar year.', 'Unused days expire in March.'],
    [
      'Facilities',
      '',
      'Parking spaces are assigned by the facilities team.',
      'Requests go through the facilities desk on the ground floor.',
      '',
      'The office closes at 19:00 on Fridays.',
    ],
  ];
  for (const lines of pages) {
    const page = doc.addPage([595, 842]);
    lines.forEach((line, i) => page.drawText(line, { x: 60, y: 760 - i * 22, size: i === 0 ? 20 : 12, font }));
  }
  return doc.save();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium).`);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: `${TENANT}=1`, GROUNDWORK_REVIEW_CLAIM_TIMEOUT: '10m' });
  api = await startHttpApi(h.config, { port: 0 });
  const keys = KeyStore.forDataDir(h.dataDir);
  lee = (await keys.create({ tenant: TENANT, role: 'reviewer', name: 'lee' })).key;
  kim = (await keys.create({ tenant: TENANT, role: 'reviewer', name: 'kim' })).key;
  reader = (await keys.create({ tenant: TENANT, role: 'reader', name: 'rae' })).key;
  const file = await writeTemp(h.dataDir, `${TENANT}/handbook.pdf`, await handbookPdf());
  await h.client.ingest({ tenantId: TENANT, documentId: 'handbook.pdf', source: { kind: 'path', path: file } });
  const other = await writeTemp(h.dataDir, 'otherco/notes.md', '# Notes\n\nParking is free for visitors.\n');
  await h.client.ingest({ tenantId: 'otherco', documentId: 'notes.md', source: { kind: 'path', path: other } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await h?.stop();
});

async function newPage(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  // bypassCSP: only so that the axe-core scan can be injected; the app itself runs under its CSP otherwise.
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const page = await context.newPage();
  // Script errors of the page fail the test that caused them (checked in afterEach).
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // Nothing may be fetched from anywhere but the console's own server.
  await page.route('**/*', (route) =>
    route.request().url().startsWith(api.url) || route.request().url().startsWith('blob:')
      ? route.continue()
      : route.abort(),
  );
  return { context, page };
}

async function signIn(page: Page, credential: string): Promise<void> {
  await page.goto(`${api.url}/console/`);
  await page.fill('#credential', credential);
  await page.click('#signin');
}

/** Waits until the element's text contains (or, exact, equals) the expected text; fails naming what it saw. */
async function expectText(locator: Locator, want: string, exact = false): Promise<void> {
  let seen = '';
  try {
    await eventually(async () => {
      seen = ((await locator.textContent({ timeout: 1000 })) ?? '').trim();
      return exact ? seen === want : seen.includes(want);
    }, 20_000);
  } catch {
    throw new Error(`expected ${exact ? '' : 'a text containing '}"${want}", saw "${seen}"`);
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function axeScan(page: Page, what: string): Promise<void> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  // A string: the page's own globals (axe, document), evaluated in the browser.
  const result = (await page.evaluate('axe.run(document)')) as {
    violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[];
  };
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect({ what, violations: serious.map((v) => `${v.id}: ${JSON.stringify(v.nodes[0]?.target)}`) }).toEqual({
    what,
    violations: [],
  });
}

async function escalate(question: string) {
  const handle = await h.client.startAsk({ tenantId: TENANT, question });
  const r = await h.client.answerOrEscalation(handle, TENANT);
  if (r.status !== 'escalated') throw new Error(`"${question}" did not escalate: ${JSON.stringify(r).slice(0, 300)}`);
  return { handle, taskId: r.reviewTaskId };
}

const taskUrl = (taskId: string) => `${api.url}/console/#/t/${TENANT}/task/${encodeURIComponent(taskId)}`;

test('bad credentials go back to sign-in with a message; a reader key may not review', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'gw_nonsense');
  await expectText(page.locator('#signin-error'), 'not accepted');
  await signIn(page, reader);
  await expectText(page.locator('#signin-error'), 'reviewer role');
  await axeScan(page, 'sign-in');
  await shot(page, 'signin');
  await context.close();
});

test('a reviewer claims, views the PDF source, edits with a picked citation; others are refused; reject; approve', async () => {
  const { context, page } = await newPage();
  await signIn(page, lee);
  await page.waitForSelector('#queue-rows');
  await expect(page.locator('#who-name').textContent()).resolves.toBe(`lee · ${TENANT}`);

  // 2: an escalated task appears in the queue by itself (polling).
  const first = await escalate('Who assigns parking spaces?');
  const row = page.locator(`tr[data-task="${first.taskId}"]`);
  await row.waitFor({ timeout: 20_000 });
  await expect(row.locator('.badge').textContent()).resolves.toBe('open');
  await axeScan(page, 'queue');
  await shot(page, 'queue');

  // 3: claim it (keyboard shortcut c).
  await row.locator('a').click();
  await page.waitForSelector('#claim');
  await page.keyboard.press('c');
  await page.waitForSelector('#release');
  await expect(page.locator('#claim-text').textContent()).resolves.toContain('You have claimed');

  // 4: the PDF page of the cited chunk, rendered by pdf.js on the worker, with the passage highlighted.
  const state = await h.client.getReview(TENANT, first.taskId);
  const pdfChunk = state.retrieved.find((r) => r.locator.includes('2'));
  if (!pdfChunk) throw new Error('the page-2 chunk was not retrieved');
  await page.click(`button[data-chunk="${pdfChunk.chunkId}"]`);
  const frame = page.locator(`li[data-chunk="${pdfChunk.chunkId}"] .pdfpage`);
  await frame.waitFor({ timeout: 60_000 });
  await page.waitForFunction(
    `(() => { const img = document.querySelector('li[data-chunk="${pdfChunk.chunkId}"] .pdfpage img');` +
      ' return img !== null && img.complete && img.naturalWidth > 100; })()',
    undefined,
    { timeout: 30_000 },
  );
  expect(await frame.locator('[data-testid="highlight"]').count()).toBeGreaterThan(0);
  await axeScan(page, 'task page');
  await shot(page, 'task');

  // 5: edit. The workflow's validator refuses an empty answer and a chunk of another tenant, and nothing is decided.
  const foreign = await h.client.ask({ tenantId: 'otherco', question: 'Is parking free?', escalate: false });
  const foreignChunk = foreign.retrieved[0]?.chunkId;
  if (!foreignChunk) throw new Error('otherco retrieved nothing');
  await page.keyboard.press('e');
  await page.fill('#edit-answer', '   ');
  await page.click('#edit-submit');
  await expectText(page.locator('#task-message'), 'The corrected answer is empty.', true);
  await page.fill('#edit-answer', 'The facilities team assigns parking spaces; ask at the ground-floor desk.');
  await page.fill('#edit-chunk-id', foreignChunk);
  await page.click('#edit-submit');
  await expectText(page.locator('#task-message'), 'Every citation must name a chunk');
  expect((await h.client.getReview(TENANT, first.taskId)).outcome).toBeUndefined();
  await page.fill('#edit-chunk-id', '');
  const boxes = page.locator('#edit-citations input[type=checkbox]');
  for (let i = 0; i < (await boxes.count()); i++) await boxes.nth(i).uncheck();
  await page.check(`#edit-citations input[value="${pdfChunk.chunkId}"]`);
  await page.click('#edit-submit');
  await expectText(page.locator('#task-message'), 'Your edited answer went back');
  await shot(page, 'task-edited');

  // 6: the answer workflow completes with the edited answer and the picked citation.
  const result = await first.handle.result();
  expect(result).toMatchObject({
    status: 'reviewed',
    answer: 'The facilities team assigns parking spaces; ask at the ground-floor desk.',
    review: { decision: 'edited', reviewerId: 'lee' },
  });
  expect(result.citations.map((c) => c.chunkId)).toEqual([pdfChunk.chunkId]);

  // 7: a second reviewer is refused: kim opens a task, lee claims it first, kim's claim is refused naming lee.
  const second = await escalate('When does the office close on Fridays?');
  const other = await newPage();
  await signIn(other.page, kim);
  await other.page.waitForSelector('#queue-rows');
  await other.page.goto(taskUrl(second.taskId));
  await other.page.waitForSelector('#claim');
  await page.goto(taskUrl(second.taskId));
  await page.click('#claim');
  await page.waitForSelector('#release');
  await other.page.click('#claim');
  await expectText(other.page.locator('#task-message'), 'The review task is claimed by lee.', true);
  // ... and after the decision, kim sees who decided it.
  // 8: lee rejects it with a reason (keyboard shortcut r).
  await page.keyboard.press('r');
  await page.fill('#reject-reason', 'The handbook gives no Friday hours for every site.');
  await page.click('#reject-submit');
  await expectText(page.locator('#task-message'), 'Rejected');
  await expect(second.handle.result()).resolves.toMatchObject({ status: 'rejected', review: { reviewerId: 'lee' } });
  await other.page.reload();
  await expectText(other.page.locator('#claim-text'), 'Decided: rejected by lee.', true);
  await other.context.close();

  // 9: a third task approved (shortcut a).
  const third = await escalate('What happens to unused days?');
  await page.goto(taskUrl(third.taskId));
  await page.click('#claim');
  await page.waitForSelector('#release');
  await page.keyboard.press('a');
  await expectText(page.locator('#task-message'), 'Approved');
  await expect(third.handle.result()).resolves.toMatchObject({ status: 'reviewed', review: { decision: 'approved' } });

  // The queue shows the decisions; a task of another tenant is not found.
  await page.goto(`${api.url}/console/#/queue`);
  await page.selectOption('#f-status', 'decided');
  await page.locator(`tr[data-task="${third.taskId}"] .badge`).waitFor();
  await expectText(page.locator(`tr[data-task="${third.taskId}"] .badge`), 'approved', true);
  await page.goto(`${api.url}/console/#/t/otherco/task/${encodeURIComponent('review:otherco:x')}`);
  await expectText(page.locator('#not-found'), 'No such review task for this tenant.', true);
  await page.goto(`${api.url}/console/#/t/${TENANT}/task/review%3Aotherco%3Anone`);
  await expectText(page.locator('#not-found'), 'No such review task for this tenant.', true);

  // Statistics: charts drawn on the page as inline SVG.
  await page.goto(`${api.url}/console/stats`);
  await page.waitForSelector('#median');
  expect(await page.locator('.chart svg').count()).toBe(3);
  expect(await page.locator('#median').textContent()).not.toBe('—');
  await axeScan(page, 'statistics');
  await shot(page, 'stats');
  await context.close();

  // The phone viewport: the queue and a task page lay out without sideways scrolling.
  const phone = await newPage({ width: 390, height: 844 });
  await signIn(phone.page, lee);
  await phone.page.selectOption('#f-status', 'all');
  await phone.page.locator(`tr[data-task="${first.taskId}"]`).waitFor();
  await shot(phone.page, 'queue-phone');
  await phone.page.goto(taskUrl(first.taskId));
  await phone.page.waitForSelector('#final-answer');
  const overflow = (await phone.page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
  expect(overflow).toBeLessThanOrEqual(0);
  await axeScan(phone.page, 'task page on a phone');
  await shot(phone.page, 'task-phone');
  await phone.context.close();

  if (process.env.GROUNDWORK_UPDATE_DOCS === '1')
    await fs.copyFile(
      path.join(ARTIFACTS, 'task.png'),
      path.resolve(__dirname, '..', '..', 'docs', 'console-task.png'),
    );
});

test('sheet rows under their header, text lines, and a citation found by searching the tenant documents', async () => {
  const tenant = 'sheetco';
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(
    wb,
    XLSX.utils.aoa_to_sheet([
      ['Region', 'Q1', 'Q2'],
      ['EMEA', 1200, 1350],
      ['Americas', 2100, 2240],
    ]),
    'Revenue',
  );
  const xlsx = await writeTemp(h.dataDir, `${tenant}/sales.xlsx`, XLSX.write(wb, { type: 'buffer', bookType: 'xlsx' }));
  const md = await writeTemp(
    h.dataDir,
    `${tenant}/garage.md`,
    '# Garage\n\nThe garage opens at 06:00.\nBicycles park on level -1.\n',
  );
  await h.client.ingest({ tenantId: tenant, documentId: 'sales.xlsx', source: { kind: 'path', path: xlsx } });
  await h.client.ingest({ tenantId: tenant, documentId: 'garage.md', source: { kind: 'path', path: md } });
  const reviewer = (await KeyStore.forDataDir(h.dataDir).create({ tenant, role: 'reviewer', name: 'sol' })).key;
  // topK 1: the garage text is not retrieved, so the reviewer has to find it.
  const r = await h.client.askUntilEscalated({
    tenantId: tenant,
    question: 'What was the EMEA revenue in Q2?',
    topK: 1,
    threshold: 1,
  });
  if (r.status !== 'escalated') throw new Error('not escalated');
  const state = await h.client.getReview(tenant, r.reviewTaskId);
  expect(state.retrieved.map((c) => c.documentId)).toEqual(['sales.xlsx']);
  const sheetChunk = state.retrieved[0]?.chunkId as string;

  const { context, page } = await newPage();
  await signIn(page, reviewer);
  await page.waitForSelector('#queue-rows');
  await page.goto(`${api.url}/console/#/t/${tenant}/task/${encodeURIComponent(r.reviewTaskId)}`);
  await page.click('#claim');
  await page.waitForSelector('#release');
  await page.click(`button[data-chunk="${sheetChunk}"]`);
  const sheet = page.locator(`li[data-chunk="${sheetChunk}"] table.sheet`);
  await sheet.waitFor({ timeout: 30_000 });
  const header = await sheet.locator('thead th').allTextContents();
  const cells = await sheet.locator('tbody td').allTextContents();
  expect(header.join('|') + cells.join('|')).toContain('Region');
  expect(cells).toEqual(expect.arrayContaining(['EMEA', '1350']));

  // Search the tenant's documents, pick the garage chunk, and the edit cites it.
  await page.keyboard.press('e');
  await page.fill('#edit-search', 'garage bicycles level');
  await page.click('#edit-search-go');
  await expectText(page.locator('#search-result'), 'chunks found');
  const found = (await h.client.getReview(tenant, r.reviewTaskId)).found ?? [];
  const garage = found.find((f) => f.documentId === 'garage.md');
  if (!garage) throw new Error('the search did not find the garage text');
  await page.click(`button[data-chunk="${garage.chunkId}"]`);
  await page.locator(`li[data-chunk="${garage.chunkId}"] .lines .cited`).first().waitFor({ timeout: 30_000 });
  const boxes = page.locator('#edit-citations input[type=checkbox]');
  for (let i = 0; i < (await boxes.count()); i++) await boxes.nth(i).uncheck();
  await page.check(`#edit-citations input[value="${garage.chunkId}"]`);
  await page.fill('#edit-answer', 'Bicycles park on level -1 of the garage.');
  await page.click('#edit-submit');
  await expectText(page.locator('#task-message'), 'Your edited answer went back');
  const result = await h.client.temporal.workflow.getHandle(r.workflowId).result();
  expect(result).toMatchObject({ status: 'reviewed', answer: 'Bicycles park on level -1 of the garage.' });
  expect(result.citations.map((c: { chunkId: string }) => c.chunkId)).toEqual([garage.chunkId]);
  await shot(page, 'task-sheet');
  await context.close();
});

test('the console API refuses what the page would: another tenant 404, no credential 401', async () => {
  const res = await fetch(`${api.url}/console/api/tenants/otherco/queue`, {
    headers: { authorization: `Bearer ${lee}` },
  });
  expect(res.status).toBe(403);
  const none = await fetch(`${api.url}/console/api/me`);
  expect(none.status).toBe(401);
  const page = await fetch(`${api.url}/console/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  await eventually(async () => (await fetch(`${api.url}/console/console.js`)).status === 200);
});
