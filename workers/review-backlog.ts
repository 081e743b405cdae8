// groundwork_review_backlog, computed when Prometheus scrapes (cached briefly): undecided review tasks counted through
// Temporal visibility (ReviewStatus = open or escalated on running reviewTask workflows), and of those the ones a
// reviewer holds a live claim on, read from the state query of at most MAX_QUERIED tasks. Claims are not a search
// attribute (adding one would add workflow commands), so beyond that many tasks `claimed` is a lower bound.
// Aggregate over tenants: a visibility count cannot group by TenantId.
import { Client, Connection } from '@temporalio/client';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { dataConverterFor } from '../common/codec';
import type { Config } from '../common/config';
import type { metrics } from '../common/metrics';
import { setReviewBacklogCollector } from '../common/metrics';
import { reviewStateQuery } from '../workflows/definitions';
import type { ReviewTaskState } from '../workflows/definitions';

const CACHE_MS = 15_000;
const MAX_QUERIED = 100;
const QUERY_CONCURRENCY = 4;
const RUNNING_REVIEWS = `WorkflowType = 'reviewTask' AND ExecutionStatus = 'Running'`;

export interface ReviewBacklog {
  open: number;
  escalated: number;
  claimed: number;
}

type Gauge = (typeof metrics)['reviewBacklog'];

/** What the backlog is counted with: `count` a visibility count, `claims` the live claims of running tasks. */
export interface BacklogSource {
  count(query: string): Promise<number>;
  list(query: string): AsyncIterable<Pick<WorkflowExecutionInfo, 'workflowId' | 'runId'>>;
  state(workflowId: string, runId: string): Promise<Pick<ReviewTaskState, 'status' | 'claim'>>;
}

export async function countBacklog(source: BacklogSource, now = Date.now()): Promise<ReviewBacklog> {
  const [open, escalated] = await Promise.all([
    source.count(`${RUNNING_REVIEWS} AND ReviewStatus = 'open'`),
    source.count(`${RUNNING_REVIEWS} AND ReviewStatus = 'escalated'`),
  ]);
  const tasks: { workflowId: string; runId: string }[] = [];
  if (open + escalated > 0) {
    for await (const wf of source.list(`${RUNNING_REVIEWS} AND ReviewStatus IN ('open', 'escalated')`)) {
      tasks.push({ workflowId: wf.workflowId, runId: wf.runId });
      if (tasks.length >= MAX_QUERIED) break;
    }
  }
  const claimedBy = { open: 0, escalated: 0 };
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < tasks.length) {
      const t = tasks[next++] as (typeof tasks)[number];
      const state = await source.state(t.workflowId, t.runId).catch(() => undefined);
      if (!state?.claim || Date.parse(state.claim.expiresAt) <= now) continue;
      if (state.status === 'open' || state.status === 'escalated') claimedBy[state.status]++;
    }
  };
  await Promise.all(Array.from({ length: QUERY_CONCURRENCY }, work));
  return {
    open: Math.max(0, open - claimedBy.open),
    escalated: Math.max(0, escalated - claimedBy.escalated),
    claimed: claimedBy.open + claimedBy.escalated,
  };
}

/** A collector for the gauge that recounts at most every CACHE_MS; a failed count leaves the last values. */
export function backlogCollector(source: BacklogSource, cacheMs = CACHE_MS): (gauge: Gauge) => Promise<void> {
  let last: { at: number; value: Promise<ReviewBacklog> } | undefined;
  return async (gauge) => {
    if (!last || Date.now() - last.at > cacheMs) last = { at: Date.now(), value: countBacklog(source) };
    const current = last;
    const backlog = await current.value.catch(() => {
      if (last === current) last = undefined;
      return undefined;
    });
    if (!backlog) return;
    gauge.set({ status: 'open' }, backlog.open);
    gauge.set({ status: 'escalated' }, backlog.escalated);
    gauge.set({ status: 'claimed' }, backlog.claimed);
  };
}

/**
 * Registers the worker's backlog collector over its own visibility client (connected at the first scrape). Returns
 * the function that unregisters it and closes the connection.
 */
export function registerReviewBacklog(config: Config): () => Promise<void> {
  let client: Promise<Client> | undefined;
  const connect = (): Promise<Client> => {
    client ??= Connection.connect({
      address: config.temporal.address,
      tls: config.temporal.tls,
      apiKey: config.temporal.apiKey,
      metadata: config.temporal.metadata,
    }).then(
      (connection) =>
        new Client({
          connection,
          namespace: config.temporal.namespace,
          dataConverter: dataConverterFor(config.security.payloadKeys),
        }),
    );
    client.catch(() => (client = undefined));
    return client;
  };
  const source: BacklogSource = {
    count: async (query) => (await (await connect()).workflow.count(query)).count,
    list: (query) => ({
      async *[Symbol.asyncIterator]() {
        yield* (await connect()).workflow.list({ query, pageSize: MAX_QUERIED });
      },
    }),
    state: async (workflowId, runId) => (await connect()).workflow.getHandle(workflowId, runId).query(reviewStateQuery),
  };
  const collector = backlogCollector(source);
  setReviewBacklogCollector(collector);
  return async () => {
    // Only its own: another worker of the process may have registered since.
    const current = setReviewBacklogCollector(undefined);
    if (current !== collector) setReviewBacklogCollector(current);
    const c = await client?.catch(() => undefined);
    await c?.connection.close();
  };
}
