// The HTTP API's own cache of answers it served, so a repeated question is answered without a workflow round trip.
// An entry is tagged with the tenant's answer generation read *before* its run started, and served only while that
// generation is still current: the generation changes after any activation, deletion, purge or calibration refit,
// and a run that started earlier may have seen the newer state, so tagging it with the older one only ever makes the
// entry expire sooner, never serve a stale answer. Models, prompt version and thresholds come from the deployment's
// configuration, which the API reads at start like the workers; a restarted API starts empty.
import { normalizeQuestion } from '../../activities/answer-cache';
import type { CorpusGenerations } from '../../activities/answer-cache';
import type { AnswerResult } from '../../workflows/definitions';

export interface ServedQuestion {
  tenantId: string;
  question: string;
  topK?: number;
  escalate?: boolean;
}

type Served = AnswerResult & { workflowId: string };

/** What a run that may be served again returned: a confident answer or "not in the documents", not degraded. */
const cacheable = (r: { status: string; degraded?: unknown }): boolean =>
  (r.status === 'answered' || r.status === 'not_found') && r.degraded === undefined;

export class ServedAnswers {
  private readonly entries = new Map<string, { at: number; generation: string; answer: Served }>();

  constructor(
    private readonly generations: CorpusGenerations,
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private key(q: ServedQuestion): string {
    return JSON.stringify([q.tenantId, normalizeQuestion(q.question), q.topK ?? null, q.escalate ?? true]);
  }

  /** The tenant's current generation: read before a run starts, and passed back to `remember`. */
  generation(tenantId: string): Promise<string> {
    return this.generations.current(tenantId);
  }

  /** A served answer for this question on the tenant's current generation, marked `cached`. */
  async lookup(q: ServedQuestion): Promise<Served | undefined> {
    if (this.maxEntries <= 0) return undefined;
    const key = this.key(q);
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (this.now() - hit.at > this.maxAgeMs || hit.generation !== (await this.generation(q.tenantId))) return undefined;
    this.entries.set(key, hit); // most recently used last
    return { ...hit.answer, cached: true };
  }

  /** Keeps a run's answer under the generation read before the run started; true when kept. */
  remember(q: ServedQuestion, generation: string, answer: Served | { status: string }): boolean {
    if (this.maxEntries <= 0 || !('workflowId' in answer) || !cacheable(answer)) return false;
    const key = this.key(q);
    this.entries.delete(key);
    this.entries.set(key, { at: this.now(), generation, answer: answer as Served });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return true;
  }
}
