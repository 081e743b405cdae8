// The answer cache: a served answer (confident enough to skip review) is kept per worker and served again for the
// same tenant, normalised question, corpus generation, models, prompt version, retrieval depth and calibration. The
// corpus generation is a token per tenant that changes whenever what the tenant's questions can retrieve changes
// (an activation, a document deletion, a purge), so a document change invalidates every cached answer of that tenant
// without a scan: the old keys are simply never asked again and age out of the LRU.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { assertTenantId } from '../common/ids';
import { LocalObjectStore, scopedStore } from '../common/object-store';
import type { ObjectStore } from '../common/object-store';
import { labelsFor, metrics } from '../common/metrics';
import type { PipelineResult } from '../workflows/answer-steps';

/** A tenant's corpus generation: one small object per tenant (`corpus/<tenant>.generation`), replaced whole. */
export class CorpusGenerations {
  private readonly objects: ObjectStore;

  constructor(location: ObjectStore | string) {
    this.objects = typeof location === 'string' ? new LocalObjectStore(location) : location;
  }

  static inDataDir(dataDir: string): CorpusGenerations {
    return new CorpusGenerations(path.join(dataDir, 'corpus'));
  }

  static inStore(objects: ObjectStore): CorpusGenerations {
    return new CorpusGenerations(scopedStore(objects, 'corpus'));
  }

  private key(tenantId: string): string {
    assertTenantId(tenantId);
    return `${tenantId}.generation`;
  }

  /** The current token; `initial` until the tenant's corpus first changes. */
  async current(tenantId: string): Promise<string> {
    return (await this.objects.get(this.key(tenantId)))?.toString('utf8').trim() || 'initial';
  }

  /** A new token: called after the tenant's retrievable chunks changed (never before, or a reader could cache old). */
  async bump(tenantId: string): Promise<string> {
    const token = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    await this.objects.put(this.key(tenantId), token);
    return token;
  }
}

/** The same question however it is cased, spaced or punctuated at its end. */
export function normalizeQuestion(question: string): string {
  return question
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s?!.。？！]+$/u, '');
}

export interface CacheKeyParts {
  tenantId: string;
  question: string;
  generation: string;
  models: string;
  promptVersion: string;
  topK: number;
  calibration: string;
}

/** A hash: the question never appears in the key (keys show up in workflow history). */
export function cacheKey(p: CacheKeyParts): string {
  const h = createHash('sha256');
  for (const part of [
    p.tenantId,
    normalizeQuestion(p.question),
    p.generation,
    p.models,
    p.promptVersion,
    String(p.topK),
    p.calibration,
  ])
    h.update(part).update('\u0000');
  return `${p.tenantId}:${h.digest('hex').slice(0, 40)}`;
}

/** What a cached entry holds: the pipeline's result as it was served. */
export type CachedAnswer = PipelineResult;

/** Statuses worth serving again; a degraded or empty-corpus result is not. */
const CACHEABLE = new Set<PipelineResult['status']>(['answered', 'not_found']);

/** An LRU of served answers, bounded by entries and age. */
export class AnswerCache {
  private readonly entries = new Map<string, { at: number; value: CachedAnswer }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (this.now() - hit.at > this.maxAgeMs) return undefined;
    this.entries.set(key, hit); // most recently used last
    return hit.value;
  }

  set(key: string, value: CachedAnswer): boolean {
    if (this.maxEntries <= 0 || !CACHEABLE.has(value.status) || value.degraded) return false;
    this.entries.delete(key);
    this.entries.set(key, { at: this.now(), value });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return true;
  }
}

export interface AnswerCacheOptions {
  generations: CorpusGenerations;
  /** Entries kept per worker (GROUNDWORK_ANSWER_CACHE_SIZE); 0 turns the cache off. */
  maxEntries: number;
  maxAgeMs: number;
  /** The embedder and answerer in use (their ids), part of every key. */
  models: string;
  /** The prompt version answers are drafted with by default; part of every key. */
  promptVersion?: () => string;
}

export function createAnswerCacheActivities(options: AnswerCacheOptions) {
  const cache = new AnswerCache(options.maxEntries, options.maxAgeMs);
  return {
    /**
     * The answer served before for this question on the tenant's current corpus, models, prompt and calibration, if
     * it is still confident enough for `threshold`; and the key to store this run's answer under otherwise.
     */
    async lookupCachedAnswer(input: {
      tenantId: string;
      question: string;
      topK: number;
      calibration: string;
      threshold: number;
      promptVersion?: string;
    }): Promise<{ key?: string; hit?: CachedAnswer }> {
      assertTenantId(input.tenantId);
      if (options.maxEntries <= 0) return {};
      const key = cacheKey({
        tenantId: input.tenantId,
        question: input.question,
        generation: await options.generations.current(input.tenantId),
        models: options.models,
        promptVersion: input.promptVersion ?? options.promptVersion?.() ?? '',
        topK: input.topK,
        calibration: input.calibration,
      });
      const hit = cache.get(key);
      if (hit && hit.confidence >= input.threshold) {
        metrics.cacheHits.inc(labelsFor({}, input.tenantId));
        return { key, hit };
      }
      metrics.cacheMisses.inc(labelsFor({}, input.tenantId));
      return { key };
    },

    /** Keeps a served answer under the key its lookup returned. */
    async storeCachedAnswer(input: { key: string; result: CachedAnswer }): Promise<{ stored: boolean }> {
      return { stored: cache.set(input.key, input.result) };
    },
  };
}
