// Password-protected PDFs (Standard Security Handler, RC4 and AES) written by test/support/encrypted-pdf.ts, through
// the isolated pipeline: a missing or wrong password is a typed error, the right user or owner password yields each
// page's text. (extractChunks parses in a child process, where pdf.js can load its ES-module worker.)
import { extractChunks } from '../../ingest';
import type { Chunk } from '../../ingest';
import { IngestError } from '../../ingest/errors';
import { makeEncryptedPdf } from '../support/encrypted-pdf';

const pages = [
  'The vault inventory lists seven silver candlesticks (antique).',
  'Access codes rotate every Tuesday at noon for the east wing.',
  'Insurance covers water damage but excludes C:\\archive losses.',
];
const userPassword = 'correct horse';
const ownerPassword = 'battery staple';

function expectPagesFound(chunks: Pick<Chunk, 'text' | 'locator'>[]): void {
  pages.forEach((text, i) => {
    expect(chunks.find((c) => c.text.includes(text))?.locator).toEqual({ kind: 'page', page: i + 1 });
  });
  expect(new Set(chunks.map((c) => (c.locator.kind === 'page' ? c.locator.page : 0)))).toEqual(new Set([1, 2, 3]));
}

describe.each(['rc4-128', 'aes-128'] as const)('encrypted PDF (%s)', (algorithm) => {
  const bytes = makeEncryptedPdf({ text: pages, userPassword, ownerPassword, algorithm });

  it('is a PDF whose page text is not readable without decryption', () => {
    const raw = Buffer.from(bytes).toString('latin1');
    expect(raw.startsWith('%PDF-')).toBe(true);
    expect(raw).toContain('/Encrypt');
    expect(raw).not.toContain('vault inventory');
  });

  it('without a password fails with PDF_ENCRYPTED, a typed error that does not leak the content', async () => {
    const err = await extractChunks({ bytes, fileName: 'locked.pdf' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).code).toBe('PDF_ENCRYPTED');
    expect((err as IngestError).message).not.toContain('vault');
  });

  it('with a wrong password fails with PDF_BAD_PASSWORD', async () => {
    await expect(extractChunks({ bytes, fileName: 'locked.pdf', password: 'not it' })).rejects.toMatchObject({
      code: 'PDF_BAD_PASSWORD',
    });
  });

  it.each([
    ['user', userPassword],
    ['owner', ownerPassword],
  ])('with the %s password extracts every page with page locators 1..n', async (_which, password) => {
    const r = await extractChunks({ bytes, fileName: 'locked.pdf', password });
    expect(r.document.stats.pages).toBe(pages.length);
    expectPagesFound(r.chunks);
  });
});
