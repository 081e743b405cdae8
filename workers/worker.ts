// Builds the worker's dependencies from configuration and runs the Temporal Worker.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Activities } from '../activities';
import { createModels } from '../activities/models';
import { createVectorStore } from '../activities/vectors';
import type { VectorStore } from '../activities/vectors/types';
import type { Config } from './config';

export interface RunningWorker {
  worker: Worker;
  vectors: VectorStore;
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function createDependencies(config: Config) {
  const models = createModels(config.models);
  const vectors = createVectorStore({
    qdrantUrl: config.vectors.qdrantUrl,
    qdrantApiKey: config.vectors.qdrantApiKey,
    qdrantCollection: config.vectors.qdrantCollection,
    lancedbDir: config.vectors.lancedbDir,
  });
  await vectors.ensureReady(models.embedder.dimensions);
  return { vectors, embedder: models.embedder, answerer: models.answerer };
}

export async function startWorker(
  config: Config,
  overrides: Partial<Pick<WorkerOptions, 'workflowBundle' | 'taskQueue' | 'shutdownGraceTime'>> = {},
  /** Tests wrap activities to inject faults (e.g. a crash after a write) into the real implementations. */
  wrapActivities: (activities: Activities) => object = (a) => a,
): Promise<RunningWorker> {
  if (!config.temporal.address) throw new Error('TEMPORAL_ADDRESS is not set and no dev server was started.');
  const deps = await createDependencies(config);
  const connection = await NativeConnection.connect({
    address: config.temporal.address,
    tls: config.temporal.tls || undefined,
    apiKey: config.temporal.apiKey,
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: overrides.taskQueue ?? config.temporal.taskQueue,
    ...(overrides.workflowBundle ? { workflowBundle: overrides.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: wrapActivities(createActivities({ ...deps, config })),
    shutdownGraceTime: overrides.shutdownGraceTime ?? '10s',
  });
  const done = worker.run().finally(async () => {
    await connection.close();
    await deps.vectors.close();
  });
  return {
    worker,
    vectors: deps.vectors,
    done,
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
