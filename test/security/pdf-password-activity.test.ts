// prepareDocument and PDF passwords: the password arrives as a reference to the secret store, is resolved only inside
// the activity, and is deleted once it has served (success, or a failure no retry can fix); a legacy plain password
// from runs started before still works.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createParsingActivities } from '../../activities/parsing';
import { StagingArea } from '../../activities/staging';
import type { VectorStore } from '../../activities/vectors/types';
import { SecretStore, pdfPasswordScope } from '../../common/secrets';
import { makeEncryptedPdf } from '../support/encrypted-pdf';
import type { Harness } from '../activities/harness';
import { applicationFailure, makeHarness, PARSE_LIMITS, run } from '../activities/harness';
import type { DocumentSource, IngestDocumentInput } from '../../workflows/definitions';

jest.setTimeout(60_000);

const PASSWORD = 'Tr0ub4dor&3 unique';
const PAGES = ['Locked page. The aurora budget is 17 lanterns per quarter.'];

let h: Harness;
let secrets: SecretStore;
/** Inline (an upload's bytes), so these tests do not depend on GROUNDWORK_INGEST_ROOTS. */
const pdf: DocumentSource = {
  kind: 'inline',
  name: 'locked.pdf',
  contentBase64: Buffer.from(makeEncryptedPdf({ text: PAGES, userPassword: PASSWORD })).toString('base64'),
};
const input = (
  documentId: string,
  extra: Partial<IngestDocumentInput> = {},
  tenantId = 'acme',
): IngestDocumentInput => ({
  tenantId,
  documentId,
  source: pdf,
  ...extra,
});
beforeAll(async () => {
  h = await makeHarness();
  secrets = SecretStore.inDataDir(h.dataDir);
});
afterAll(async () => h.close());

const putPassword = (documentId: string, password = PASSWORD, tenantId = 'acme') =>
  secrets.put(password, { scope: pdfPasswordScope(tenantId, documentId) });
const secretFiles = async () =>
  (await fs.readdir(secrets.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.secret'));

describe('prepareDocument with a password reference', () => {
  test('parses the encrypted PDF with the stored password, then deletes the secret', async () => {
    const passwordRef = await putPassword('locked-ok');
    const prepared = await run(h.env(), h.activities.prepareDocument, input('locked-ok', { passwordRef }));
    expect(prepared).toMatchObject({ unchanged: false, chunks: 1, pages: 1 });
    expect(JSON.stringify(prepared)).not.toContain(PASSWORD);
    await expect(secrets.read(passwordRef, { scope: pdfPasswordScope('acme', 'locked-ok') })).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
  });

  test('a wrong password fails with PDF_BAD_PASSWORD, non-retryable, and the secret is deleted too', async () => {
    const passwordRef = await putPassword('locked-bad', 'not it');
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, input('locked-bad', { passwordRef })),
    );
    expect(failure.type).toBe('PDF_BAD_PASSWORD');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain('not it');
    expect(await secretFiles()).not.toContain(`${passwordRef.slice(7)}.secret`);
  });

  test('an already active version (unchanged) still deletes the secret', async () => {
    const first = await putPassword('locked-live');
    const p = await run(h.env(), h.activities.prepareDocument, input('locked-live', { passwordRef: first }));
    const base = {
      tenantId: 'acme',
      documentId: 'locked-live',
      version: p.version,
      stagingRef: p.stagingRef as string,
    };
    await run(h.env(), h.activities.embedAndUpsert, base);
    await run(h.env(), h.activities.activateDocument, base);
    const second = await putPassword('locked-live');
    const again = await run(h.env(), h.activities.prepareDocument, input('locked-live', { passwordRef: second }));
    expect(again).toMatchObject({ unchanged: true, version: p.version });
    expect(await secretFiles()).toEqual([]);
  });

  test("another document's or tenant's reference is not found, and its secret is left alone", async () => {
    const passwordRef = await putPassword('locked-ok', PASSWORD, 'globex');
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, input('locked-ok', { passwordRef })),
    );
    expect(failure.type).toBe('SECRET_NOT_FOUND');
    expect(failure.nonRetryable).toBe(true);
    await expect(secrets.read(passwordRef, { scope: pdfPasswordScope('globex', 'locked-ok') })).resolves.toBe(PASSWORD);
    await secrets.remove(passwordRef);
  });

  test('a missing or malformed reference fails without retries and without naming a password', async () => {
    const missing = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, input('locked-missing', { passwordRef: `secret:${'0'.repeat(32)}` })),
    );
    expect(missing).toMatchObject({ type: 'SECRET_NOT_FOUND', nonRetryable: true });
    const malformed = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, input('x', { passwordRef: 'secret:../../etc/passwd' })),
    );
    expect(malformed).toMatchObject({ type: 'SECRET_REF_INVALID', nonRetryable: true });
  });

  test('a legacy plain password (runs started before passwordRef) is still accepted', async () => {
    const prepared = await run(h.env(), h.activities.prepareDocument, input('locked-legacy', { password: PASSWORD }));
    expect(prepared).toMatchObject({ unchanged: false, chunks: 1 });
  });
});

describe('a retryable failure keeps the secret for the next attempt', () => {
  /** A store whose lookups fail like a network blip: an unclassified error, so Temporal retries. */
  const flakyVectors = {
    activeVersion: async () => {
      throw new Error('connection reset');
    },
  } as unknown as VectorStore;

  function flakyActivities() {
    return createParsingActivities({
      vectors: flakyVectors,
      staging: new StagingArea(path.join(h.dataDir, 'staging')),
      embedderId: 'test',
      limits: PARSE_LIMITS,
      secrets,
    });
  }

  test('kept while attempts remain, deleted after the last one', async () => {
    const passwordRef = await putPassword('locked-flaky');
    const flaky = input('locked-flaky', { passwordRef });
    const { prepareDocument } = flakyActivities();
    const retryPolicy = { maximumAttempts: 3 };
    await expect(run(h.env({ attempt: 1, retryPolicy }), prepareDocument, flaky)).rejects.toThrow('connection reset');
    await expect(secrets.read(passwordRef, { scope: pdfPasswordScope('acme', 'locked-flaky') })).resolves.toBe(
      PASSWORD,
    );
    await expect(run(h.env({ attempt: 3, retryPolicy }), prepareDocument, flaky)).rejects.toThrow('connection reset');
    await expect(secrets.read(passwordRef, { scope: pdfPasswordScope('acme', 'locked-flaky') })).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
  });
});
