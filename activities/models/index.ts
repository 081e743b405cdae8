// Chooses the model providers: openai when OPENAI_API_KEY is set, the offline defaults otherwise.
import { ExtractiveAnswerer } from './extractive-answerer';
import { LexicalEmbedder } from './lexical-embedder';
import { OpenAiAnswerer, OpenAiEmbedder } from './openai';
import type { Answerer, Embedder } from './types';
import { ConfigError, KNOWN_EMBEDDING_DIMENSIONS } from '../../common/config';

export interface ModelConfig {
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  embeddingModel?: string;
  chatModel?: string;
  embeddingDimensions?: number;
}

export function createModels(config: ModelConfig): { embedder: Embedder; answerer: Answerer } {
  if (!config.openaiApiKey) return { embedder: new LexicalEmbedder(), answerer: new ExtractiveAnswerer() };
  const options = { apiKey: config.openaiApiKey, baseURL: config.openaiBaseUrl };
  const model = config.embeddingModel ?? 'text-embedding-3-small';
  const dims = config.embeddingDimensions ?? KNOWN_EMBEDDING_DIMENSIONS[model];
  // Configuration refuses this at start-up; a programmatic caller gets the same sentence.
  if (dims === undefined)
    throw new ConfigError(`OPENAI_EMBEDDING_DIMENSIONS is required for the embedding model "${model}".`);
  return {
    embedder: new OpenAiEmbedder(options, model, dims, config.embeddingDimensions),
    answerer: new OpenAiAnswerer(options, config.chatModel),
  };
}

export { ExtractiveAnswerer, LexicalEmbedder, OpenAiAnswerer, OpenAiEmbedder };
export * from './types';
