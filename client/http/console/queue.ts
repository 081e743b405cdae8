// The review console's view of a tenant's tasks: every review task (open, claimed, escalated, decided) with what a
// row shows, read from each task's state query. Decided tasks never change, so their state is kept once read.
import type { GroundworkClient } from '../../groundwork-client';
import { reviewStateQuery } from '../../../workflows/definitions';
import type { ReviewTaskState } from '../../../workflows/definitions';

export interface QueueRow {
  taskId: string;
  /** open | claimed | escalated | approved | edited | rejected | expired | closed (ended without a decision) */
  status: string;
  question: string;
  confidence: number;
  threshold: number;
  openedAt: string;
  escalatesAt?: string;
  escalatedAt?: string;
  claim?: { reviewerId: string; expiresAt: string };
  decision?: string;
  reviewerId?: string;
  decidedAt?: string;
}

const MAX_TASKS = 300;
const QUERY_CONCURRENCY = 8;
const decidedStates = new Map<string, ReviewTaskState>();

function rowOf(state: ReviewTaskState, running: boolean): QueueRow {
  const pending = state.status === 'open' || state.status === 'escalated';
  const claimed = pending && running && state.claim && Date.parse(state.claim.expiresAt) > Date.now();
  return {
    taskId: state.taskId,
    status: !running && pending ? 'closed' : claimed ? 'claimed' : state.status,
    question: state.question,
    confidence: state.draft.confidence,
    threshold: state.threshold,
    openedAt: state.openedAt,
    escalatesAt: state.escalatesAt,
    escalatedAt: state.escalatedAt,
    claim:
      claimed && state.claim ? { reviewerId: state.claim.reviewerId, expiresAt: state.claim.expiresAt } : undefined,
    decision: state.outcome?.decision,
    reviewerId: state.outcome?.reviewerId,
    decidedAt: state.outcome?.decidedAt,
  };
}

/** The tenant's review tasks, newest first (at most 300). The tenant id was checked by the route's schema. */
export async function loadQueue(client: GroundworkClient, tenantId: string): Promise<QueueRow[]> {
  const executions: { workflowId: string; runId: string; running: boolean }[] = [];
  const query = `WorkflowType = 'reviewTask' AND TenantId = '${tenantId}'`;
  for await (const wf of client.temporal.workflow.list({ query })) {
    executions.push({ workflowId: wf.workflowId, runId: wf.runId, running: wf.status.name === 'RUNNING' });
    if (executions.length >= MAX_TASKS) break;
  }
  const rows: (QueueRow | undefined)[] = new Array(executions.length);
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < executions.length) {
      const i = next++;
      const e = executions[i] as (typeof executions)[number];
      try {
        let state = decidedStates.get(e.runId);
        if (!state) {
          state = await client.temporal.workflow.getHandle(e.workflowId, e.runId).query(reviewStateQuery);
          if (!e.running) {
            if (decidedStates.size > 5000) decidedStates.clear();
            decidedStates.set(e.runId, state);
          }
        }
        // The task's own record of its tenant decides.
        if (state.tenantId === tenantId) rows[i] = rowOf(state, e.running);
      } catch {
        // A task that cannot be read now (e.g. no worker) is left out of this refresh.
      }
    }
  };
  await Promise.all(Array.from({ length: QUERY_CONCURRENCY }, work));
  return rows.filter((r): r is QueueRow => r !== undefined);
}
