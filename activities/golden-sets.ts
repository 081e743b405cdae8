// Golden sets by reference: a client with the deployment's evaluation store writes the golden set there once (under
// its content hash) and the evaluation workflow carries only that hash. When a run begins, one activity merges the
// set with the tenant's corrections and keeps the result the same way (without corrections it is the same object);
// each page activity reads its questions by that hash. No history (workflow input, Schedule action, continue-as-new)
// carries the questions, whatever the set's size.
import { GroundworkError } from '../common/errors';
import { assertTenantId } from '../common/ids';
import type { GoldenQuestion } from '../workflows/definitions';
import { dedupeGolden } from '../workflows/evaluation-scoring';
import { goldenSetRef } from './evaluation-store';
import type { EvaluationStore } from './evaluation-store';

/** Golden questions a set may hold (given questions; the tenant's corrections come on top). */
export const MAX_GOLDEN_QUESTIONS = 10_000;
/** An encoded set is read whole: 10,000 questions of the longest kind fit, with room for the corrections. */
export const MAX_GOLDEN_SET_BYTES = 64 * 1024 * 1024;

export function encodeGoldenSet(golden: GoldenQuestion[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ version: 1, questions: golden }));
}

const badSet = (): GroundworkError =>
  new GroundworkError('INVALID_GOLDEN_SET', 'The stored golden set is not one written by a Groundwork client.');

const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** A golden set written by encodeGoldenSet; anything else (a damaged or foreign object) is refused. */
export function decodeGoldenSet(bytes: Uint8Array): GoldenQuestion[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badSet();
  }
  if (typeof parsed !== 'object' || parsed === null) throw badSet();
  const { version, questions } = parsed as { version?: unknown; questions?: unknown };
  // No count limit here: a run's set is the given one (at most MAX_GOLDEN_QUESTIONS) plus the corrections, and the
  // bytes read are bounded by MAX_GOLDEN_SET_BYTES.
  if (version !== 1 || !Array.isArray(questions)) throw badSet();
  for (const q of questions as Partial<GoldenQuestion>[]) {
    if (typeof q !== 'object' || q === null || typeof q.question !== 'string' || q.question.trim() === '')
      throw badSet();
    if (q.expectedDocuments !== undefined && !isStringList(q.expectedDocuments)) throw badSet();
    if (q.expectAnswer !== undefined && typeof q.expectAnswer !== 'boolean') throw badSet();
    if (q.expectedAnswerContains !== undefined && typeof q.expectedAnswerContains !== 'string') throw badSet();
  }
  return questions as GoldenQuestion[];
}

/** A golden set kept by its content hash in the tenant's evaluation store, decoded and checked. */
export async function readGoldenSet(store: EvaluationStore, tenantId: string, ref: string): Promise<GoldenQuestion[]> {
  const bytes = await store.goldenSet(tenantId, ref, MAX_GOLDEN_SET_BYTES);
  if (!bytes)
    throw new GroundworkError(
      'GOLDEN_SET_NOT_FOUND',
      "The evaluation's golden set is not in the tenant's evaluation store.",
    );
  return decodeGoldenSet(bytes);
}

export interface PrepareGoldenSetInput {
  tenantId: string;
  /** Questions given inline (empty when the set comes by reference). */
  golden: GoldenQuestion[];
  /** The content hash under which the client kept the set in this tenant's evaluation store (saveGoldenSet). */
  goldenRef?: string;
  includeCorrections: boolean;
}

/** The set a run evaluates: its content hash in the tenant's evaluation store, and how many questions it holds. */
export interface PreparedGoldenSet {
  ref: string;
  total: number;
}

export function createGoldenSetActivities(deps: { store: EvaluationStore }) {
  return {
    /**
     * The run's golden set: the given questions (inline or by reference) and, unless left out, the tenant's
     * corrections, one entry per question (a correction replaces a given question). Kept by its content hash; only
     * the hash and the count go back to the workflow. Idempotent: a retry keeps the same set.
     */
    async prepareGoldenSet(input: PrepareGoldenSetInput): Promise<PreparedGoldenSet> {
      assertTenantId(input.tenantId);
      const given =
        input.goldenRef === undefined ? input.golden : await readGoldenSet(deps.store, input.tenantId, input.goldenRef);
      const corrections = input.includeCorrections ? await deps.store.correctionsAsGolden(input.tenantId) : [];
      const golden = dedupeGolden([...given, ...corrections]);
      const encoded = encodeGoldenSet(golden);
      // Unchanged by the merge (no corrections, no repeated question): the given set is already kept.
      const ref =
        goldenSetRef(encoded) === input.goldenRef
          ? input.goldenRef
          : await deps.store.saveGoldenSet(input.tenantId, encoded);
      return { ref, total: golden.length };
    },
  };
}
