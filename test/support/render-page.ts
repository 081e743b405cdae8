// Renders page 1 of a PDF to PNG with pdf.js (run as a child process: pdf.js's ES-module worker does not load
// inside jest's module sandbox). Usage: node --require tsx/cjs test/support/render-page.ts in.pdf out.png [scale]
import { readFileSync, writeFileSync } from 'node:fs';
import { PDFParse } from 'pdf-parse';

async function main(): Promise<void> {
  const [input, output, scale = '2'] = process.argv.slice(2);
  if (!input || !output) throw new Error('usage: render-page.ts in.pdf out.png [scale]');
  const parser = new PDFParse({ data: new Uint8Array(readFileSync(input)), isEvalSupported: false, verbosity: 0 });
  try {
    const shot = await parser.getScreenshot({
      partial: [1],
      scale: Number(scale),
      imageBuffer: true,
      imageDataUrl: false,
    });
    const png = shot.pages[0]?.data;
    if (!png) throw new Error('nothing rendered');
    writeFileSync(output, png);
  } finally {
    await parser.destroy();
  }
}

void main();
