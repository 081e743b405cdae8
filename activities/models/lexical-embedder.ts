// The offline default embedder: hashed word and word-pair features, sublinear tf, signed hashing, L2-normalised.
// Deterministic and dependency-free; good at lexical overlap, blind to synonyms (use openai for that).
import type { Embedder } from './types';
import { contentTokens } from './text';

function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const BIGRAM_WEIGHT = 0.5;

export class LexicalEmbedder implements Embedder {
  readonly id: string;

  constructor(readonly dimensions = 512) {
    this.id = `lexical-v1-${dimensions}`;
  }

  embedOne(text: string): number[] {
    const tokens = contentTokens(text);
    const counts = new Map<string, number>();
    const add = (feature: string, weight: number): void =>
      void counts.set(feature, (counts.get(feature) ?? 0) + weight);
    tokens.forEach((t, i) => {
      add(`w:${t}`, 1);
      const next = tokens[i + 1];
      if (next) add(`b:${t} ${next}`, BIGRAM_WEIGHT);
    });
    const v = new Array<number>(this.dimensions).fill(0);
    for (const [feature, tf] of counts) {
      const h = fnv1a(feature);
      const sign = (fnv1a(feature, 0x9747b28c) & 1) === 0 ? 1 : -1;
      v[h % this.dimensions] = (v[h % this.dimensions] ?? 0) + sign * (1 + Math.log(tf));
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return norm === 0 ? v : v.map((x) => x / norm);
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((t) => this.embedOne(t));
  }
}
