// Human-readable locator labels, used in citations and the CLI.
import type { Locator } from './types';

export function formatLocator(locator: Locator): string {
  switch (locator.kind) {
    case 'page':
      return `p. ${locator.page}`;
    case 'pages':
      return locator.from === locator.to ? `p. ${locator.from}` : `pp. ${locator.from}-${locator.to}`;
    case 'sheet':
      return `${quoteSheetName(locator.sheet)}!${locator.range}`;
    case 'lines':
      return locator.from === locator.to ? `line ${locator.from}` : `lines ${locator.from}-${locator.to}`;
  }
}

/** Sheet names with spaces or punctuation are quoted as Excel does: 'Q1 Sales'!A1:B2. */
function quoteSheetName(name: string): string {
  return /^[A-Za-z0-9_.]+$/.test(name) ? name : `'${name.replace(/'/g, "''")}'`;
}
