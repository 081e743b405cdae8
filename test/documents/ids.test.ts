// Document ids: Unicode names keep their letters, and two different names never share an id.
import { DOCUMENT_ID_PATTERN, documentIdFromName, isDocumentId } from '../../common/ids';
import { documentIdSchema } from '../../client/groundwork-client';

test('Unicode names keep their letters and digits', () => {
  for (const name of ['報告.pdf', 'Übersicht_2024.xlsx', 'отчёт.docx', 'تقرير.pdf', 'हिन्दी.pdf', 'résumé.md', '٣.txt'])
    expect(documentIdFromName(`/uploads/${name}`)).toBe(name.normalize('NFC'));
});

test('a name that must change gets a stable hash of the original, before the extension', () => {
  const id = documentIdFromName('Q3 report.pdf');
  expect(id).toMatch(/^Q3-report~[0-9a-f]{8}\.pdf$/);
  expect(documentIdFromName('/elsewhere/Q3 report.pdf')).toBe(id);
  expect(documentIdFromName('報告 最終版.pdf')).toMatch(/^報告-最終版~[0-9a-f]{8}\.pdf$/);
  expect(documentIdFromName('.env')).toMatch(/^env~[0-9a-f]{8}$/);
  expect(documentIdFromName('((()))')).toMatch(/^doc~[0-9a-f]{8}$/);
});

test('two different names never map to one id', () => {
  const names = [
    'Q3 report.pdf',
    'Q3-report.pdf',
    'Q3_report.pdf',
    'Q3  report.pdf',
    'Q3/report.pdf',
    'Q3 (report).pdf',
    'Q3-report~00000000.pdf',
    '.Q3-report.pdf',
    'report.pdf',
    'report.PDF',
    '報告.pdf',
    '報告 .pdf',
    'a'.repeat(250) + '.pdf',
    'a'.repeat(250) + 'b.pdf',
  ];
  const ids = names.map((n) => documentIdFromName(n.replace('/', '／')));
  expect(new Set(ids).size).toBe(names.length);
});

test('NFC and NFD spellings of one name are the same name', () => {
  expect(documentIdFromName('café.pdf'.normalize('NFD'))).toBe(documentIdFromName('café.pdf'.normalize('NFC')));
});

test('every generated id is a valid document id of at most 200 characters', () => {
  for (const name of ['報告'.repeat(200), 'x'.repeat(500), ' ', '---', '..', 'a b c', '🙂.pdf', 'tab\tname.txt']) {
    const id = documentIdFromName(name);
    expect(isDocumentId(id)).toBe(true);
    expect([...id].length).toBeLessThanOrEqual(200);
  }
});

test('the id rule takes Unicode letters and refuses separators, control characters and a leading dot', () => {
  expect(DOCUMENT_ID_PATTERN.flags).toContain('u');
  for (const ok of ['報告.pdf', 'Q3-report~1a2b3c4d.pdf', 'a@b.c', 'हिन्दी']) expect(isDocumentId(ok)).toBe(true);
  for (const bad of ['', '.hidden', '-x', 'a/b', 'a\\b', 'a b', 'x\u0000', '../etc', 'a:b', 'x'.repeat(201)])
    expect(isDocumentId(bad)).toBe(false);
  expect(documentIdSchema.safeParse('報告.pdf').success).toBe(true);
  expect(documentIdSchema.safeParse('a/b').success).toBe(false);
});
