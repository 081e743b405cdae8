// openai providers (any OpenAI-compatible server via baseURL). Client retries are off: Temporal retries
// activities, and two retry layers would multiply. Errors map to retryable / non-retryable kinds.
import OpenAI from 'openai';
import { z } from 'zod';
import type { Answerer, ContextChunk, DraftAnswer, Embedder } from './types';
import { ModelRequestError, ModelUnavailableError } from './types';
import { retryAfterFromHeaders } from '../../common/errors';

export interface OpenAiOptions {
  apiKey: string;
  baseURL?: string;
  timeoutMs?: number;
}

const EMBED_BATCH = 96;

function client(o: OpenAiOptions): OpenAI {
  return new OpenAI({ apiKey: o.apiKey, baseURL: o.baseURL, maxRetries: 0, timeout: o.timeoutMs ?? 60_000 });
}

/** Maps provider errors; messages never include request content or keys. */
export function mapOpenAiError(err: unknown): Error {
  if (err instanceof OpenAI.APIConnectionError)
    return new ModelUnavailableError('The model provider could not be reached or timed out.');
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    if (status === 429 || status >= 500 || status === 408 || status === 409) {
      return new ModelUnavailableError(
        `The model provider answered ${status}; retrying later.`,
        retryAfterFromHeaders(err.headers),
      );
    }
    return new ModelRequestError(
      `The model provider rejected the request (${status}${err.code ? ` ${err.code}` : ''}).`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

export class OpenAiEmbedder implements Embedder {
  readonly id: string;
  private readonly api: OpenAI;

  constructor(
    options: OpenAiOptions,
    private readonly model = 'text-embedding-3-small',
    readonly dimensions = 1536,
    private readonly requestDimensions?: number,
  ) {
    this.api = client(options);
    this.id = `openai:${model}:${dimensions}`;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      const input = texts.slice(i, i + EMBED_BATCH).map((t) => t || ' ');
      try {
        const res = await this.api.embeddings.create({
          model: this.model,
          input,
          ...(this.requestDimensions ? { dimensions: this.requestDimensions } : {}),
        });
        const sorted = [...res.data].sort((a, b) => a.index - b.index);
        for (const d of sorted) out.push(d.embedding);
      } catch (err) {
        throw mapOpenAiError(err);
      }
    }
    return out;
  }
}

const answerSchema = z.object({
  notFound: z.boolean(),
  claims: z.array(z.object({ text: z.string().min(1), refs: z.array(z.string()) })).default([]),
  confidence: z.number().min(0).max(1),
});

export const SYSTEM_PROMPT = [
  'You answer questions using only the numbered context chunks provided.',
  'Every claim must be supported by the chunks it cites; cite chunks by their labels, e.g. ["C2"].',
  'Prefer wording taken from the chunks. Do not use outside knowledge.',
  'If the chunks do not contain the answer, set notFound to true and give no claims.',
  'Reply with JSON only: {"notFound": boolean, "claims": [{"text": string, "refs": [string]}], "confidence": number between 0 and 1}.',
].join(' ');

export function renderContext(question: string, context: ContextChunk[]): string {
  const chunks = context
    .map((c) => `[${c.ref}] (${c.sourceName ?? c.documentId}, ${c.locator})\n${c.text}`)
    .join('\n\n');
  return `Context chunks:\n\n${chunks}\n\nQuestion: ${question}`;
}

export class OpenAiAnswerer implements Answerer {
  readonly id: string;
  private readonly api: OpenAI;

  constructor(
    options: OpenAiOptions,
    private readonly model = 'gpt-4o-mini',
  ) {
    this.api = client(options);
    this.id = `openai:${model}`;
  }

  async answer(input: { question: string; context: ContextChunk[] }): Promise<DraftAnswer> {
    let content: string | null | undefined;
    try {
      const res = await this.api.chat.completions.create({
        model: this.model,
        temperature: 0,
        response_format: { type: 'json_object' },
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: renderContext(input.question, input.context) },
        ],
      });
      content = res.choices[0]?.message?.content;
    } catch (err) {
      throw mapOpenAiError(err);
    }
    // Output that is not the agreed JSON is treated as a draft with no confidence: verification turns it into
    // a low-confidence "not found" that goes to review, instead of failing the question or trusting prose.
    let parsed: z.infer<typeof answerSchema> | undefined;
    try {
      const r = answerSchema.safeParse(JSON.parse(content ?? ''));
      parsed = r.success ? r.data : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) return { notFound: true, claims: [], confidence: 0, model: this.id };
    return {
      notFound: parsed.notFound,
      claims: parsed.notFound ? [] : parsed.claims,
      confidence: parsed.confidence,
      model: this.id,
    };
  }
}
