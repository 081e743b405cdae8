// Chooses the vector store: Qdrant when QDRANT_URL is set, else the embedded LanceDB.
import { LanceDbVectorStore } from './lancedb';
import { QdrantVectorStore } from './qdrant';
import type { VectorStore } from './types';

export interface VectorStoreConfig {
  qdrantUrl?: string;
  qdrantApiKey?: string;
  qdrantCollection?: string;
  lancedbDir: string;
  lancedbTable?: string;
}

export function createVectorStore(config: VectorStoreConfig): VectorStore {
  if (config.qdrantUrl) return new QdrantVectorStore(config.qdrantUrl, config.qdrantApiKey, config.qdrantCollection);
  return new LanceDbVectorStore(config.lancedbDir, config.lancedbTable);
}

export { LanceDbVectorStore, QdrantVectorStore };
export { pointId } from './ids';
export * from './types';
