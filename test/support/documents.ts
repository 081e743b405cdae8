// Small real documents made by code (pdf-lib, SheetJS) for integration tests, the demo samples and the
// history recorder: a fresh clone needs no fixture files.
import { PDFDocument, StandardFonts } from 'pdf-lib';
import * as XLSX from 'xlsx';

/** A PDF with a real text layer: one array of paragraphs per page. */
export async function makeTextPdf(pages: string[][], title = 'Generated document'): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(title);
  doc.setAuthor('Groundwork tests');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const paragraphs of pages) {
    const page = doc.addPage([595, 842]);
    let y = 780;
    for (const paragraph of paragraphs) {
      for (const line of wrap(paragraph, 85)) {
        page.drawText(line, { x: 50, y, size: 11, font });
        y -= 15;
      }
      y -= 12;
    }
  }
  return doc.save();
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** An .xlsx workbook: sheet name → rows (first row is the header unless `merges` say otherwise). */
export function makeWorkbook(sheets: Record<string, (string | number)[][]>, merges: Record<string, string[]> = {}): Uint8Array {
  const wb = XLSX.utils.book_new();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = XLSX.utils.aoa_to_sheet(rows);
    if (merges[name]) ws['!merges'] = merges[name].map((r) => XLSX.utils.decode_range(r));
    XLSX.utils.book_append_sheet(wb, ws, name);
  }
  return new Uint8Array(XLSX.write(wb, { type: 'buffer', bookType: 'xlsx' }) as Buffer);
}
