// Every side effect the workflows need, grouped by domain. Each domain's factory takes a narrow options object
// (stores, models, limits, policy): no configuration object, and no secrets.
import path from 'node:path';
import { createAnsweringActivities } from './answering';
import type { AnsweringPolicy } from './answering';
import { createEvaluationActivities } from './evaluation';
import { EvaluationStore } from './evaluation-store';
import type { Answerer, Embedder } from './models/types';
import { createParsingActivities } from './parsing';
import type { ParsingOptions } from './parsing';
import { StagingArea } from './staging';
import { createStorageActivities } from './storage';
import type { VectorStore } from './vectors/types';

export interface ActivityDeps {
  vectors: VectorStore;
  embedder: Embedder;
  answerer: Answerer;
  /** Local state: staged chunks under staging/, evaluation state under evaluations/. */
  dataDir: string;
  parseLimits: ParsingOptions['limits'];
  embedBatch: number;
  policy: AnsweringPolicy;
}

export function createActivities(deps: ActivityDeps) {
  const { vectors, embedder, answerer } = deps;
  const staging = new StagingArea(path.join(deps.dataDir, 'staging'));
  return {
    ...createParsingActivities({ vectors, staging, embedderId: embedder.id, limits: deps.parseLimits }),
    ...createStorageActivities({ vectors, embedder, staging, embedBatch: deps.embedBatch }),
    ...createAnsweringActivities({ vectors, embedder, answerer, policy: deps.policy }),
    ...createEvaluationActivities({ store: new EvaluationStore(path.join(deps.dataDir, 'evaluations')) }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { PreparedDocument } from './parsing';
export type { RetrievedChunk, AnsweringPolicy } from './answering';
