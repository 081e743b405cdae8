// Chooses the model providers: openai when OPENAI_API_KEY is set, the offline defaults otherwise.
import { ExtractiveAnswerer } from './extractive-answerer';
import { LexicalEmbedder } from './lexical-embedder';
import { OpenAiAnswerer, OpenAiEmbedder } from './openai';
import type { Answerer, Embedder } from './types';

export interface ModelConfig {
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  embeddingModel?: string;
  chatModel?: string;
  embeddingDimensions?: number;
}

const KNOWN_DIMENSIONS: Record<string, number> = { 'text-embedding-3-small': 1536, 'text-embedding-3-large': 3072, 'text-embedding-ada-002': 1536 };

export function createModels(config: ModelConfig): { embedder: Embedder; answerer: Answerer } {
  if (!config.openaiApiKey) return { embedder: new LexicalEmbedder(), answerer: new ExtractiveAnswerer() };
  const options = { apiKey: config.openaiApiKey, baseURL: config.openaiBaseUrl };
  const model = config.embeddingModel ?? 'text-embedding-3-small';
  const dims = config.embeddingDimensions ?? KNOWN_DIMENSIONS[model] ?? 1536;
  return {
    embedder: new OpenAiEmbedder(options, model, dims, config.embeddingDimensions),
    answerer: new OpenAiAnswerer(options, config.chatModel),
  };
}

export { ExtractiveAnswerer, LexicalEmbedder, OpenAiAnswerer, OpenAiEmbedder };
export * from './types';
