// The one tokeniser the offline models share: lowercase, NFKC, Unicode words, English stopwords dropped,
// conservative suffix stemming. Numbers are kept: "25 days" must match "25".
const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does doing for from had has have having he her here hers him his how i if in into ' +
    'is it its itself just me more most my no nor not of off on once only or other our ours out over own same she should so some such than that ' +
    'the their theirs them then there these they this those through to too under until up very was we were what when where which while who whom ' +
    'why will with would you your yours also per any each many much'
  ).split(' '),
);

/** "submitt" → "submit", "runn" → "run"; "fall", "pass", "buzz" keep their doubles. */
function undouble(stemmed: string): string {
  return /([b-df-hj-kmnp-rtv-y])\1$/.test(stemmed) ? stemmed.slice(0, -1) : stemmed;
}

function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('ing') && word.length > 5) return undouble(word.slice(0, -3));
  if (word.endsWith('ed') && word.length > 4) return undouble(word.slice(0, -2));
  if (word.endsWith('es') && /(ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is'))
    return word.slice(0, -1);
  return word;
}

/** Content tokens of a text, in order. */
export function contentTokens(text: string): string[] {
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+(?:[.,][\p{N}]+)*/gu) ?? [];
  const out: string[] = [];
  for (const raw of words) {
    const w = /^\d[\d.,]*$/.test(raw) ? raw.replace(/,/g, '') : raw;
    if (STOPWORDS.has(w)) continue;
    out.push(stem(w));
  }
  return out;
}

/** Splits text into sentences; spreadsheet rows ("A: 1; B: 2") and list items stay whole. */
export function splitSentences(text: string): string[] {
  const protectedText = text.replace(/\b(e\.g|i\.e|etc|vs|Mr|Mrs|Ms|Dr|No|Inc|Ltd|St)\./g, '$1\u0000');
  return protectedText
    .split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"'(])|\n{1,}/u)
    .map((s) =>
      s
        .replace(/\u0000/g, '.')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((s) => s.length > 0);
}
