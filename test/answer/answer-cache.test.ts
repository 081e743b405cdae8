import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AnswerCache,
  CorpusGenerations,
  cacheKey,
  createAnswerCacheActivities,
  normalizeQuestion,
} from '../../activities/answer-cache';
import type { CachedAnswer } from '../../activities/answer-cache';
import { registry } from '../../common/metrics';

const answer = (over: Partial<CachedAnswer> = {}): CachedAnswer => ({
  status: 'answered',
  answer: 'Full-time employees receive 25 vacation days.',
  citations: [],
  confidence: 0.9,
  retrieved: [],
  model: 'offline-extractive',
  ...over,
});

const parts = {
  tenantId: 'acme',
  question: 'How many vacation days?',
  generation: 'g1',
  models: 'e|a',
  promptVersion: 'v1',
  topK: 6,
  calibration: 'heuristic-v1',
};

describe('answer cache keys', () => {
  test('the same question however cased, spaced or ended', () => {
    expect(normalizeQuestion('  How many   Vacation days?? ')).toBe('how many vacation days');
    expect(normalizeQuestion('ＨＯＷ many days')).toBe('how many days');
    expect(cacheKey({ ...parts, question: 'how many vacation   DAYS' })).toBe(cacheKey(parts));
  });

  test.each([
    ['tenantId', 'globex'],
    ['question', 'How many sick days?'],
    ['generation', 'g2'],
    ['models', 'e|b'],
    ['promptVersion', 'v2'],
    ['topK', 3],
    ['calibration', 'acme-v2'],
  ])('a different %s is a different key', (field, value) => {
    expect(cacheKey({ ...parts, [field]: value })).not.toBe(cacheKey(parts));
  });

  test('the question never appears in the key', () => {
    expect(cacheKey(parts)).not.toMatch(/vacation/i);
    expect(cacheKey(parts).startsWith('acme:')).toBe(true);
  });
});

describe('AnswerCache', () => {
  test('evicts the least recently used entry beyond its size', () => {
    const c = new AnswerCache(2, 60_000);
    c.set('a', answer());
    c.set('b', answer());
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('c', answer());
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    expect(c.size).toBe(2);
  });

  test('entries expire after their age', () => {
    let now = 0;
    const c = new AnswerCache(10, 1_000, () => now);
    c.set('a', answer());
    now = 999;
    expect(c.get('a')).toBeDefined();
    now = 2_100;
    expect(c.get('a')).toBeUndefined();
  });

  test('degraded, model-unavailable and empty-corpus results are never kept; size 0 keeps nothing', () => {
    const c = new AnswerCache(10, 60_000);
    expect(c.set('a', answer({ status: 'model_unavailable' }))).toBe(false);
    expect(c.set('b', answer({ status: 'no_documents' }))).toBe(false);
    expect(c.set('c', answer({ degraded: { reason: 'MODEL_UNAVAILABLE', fallback: 'extractive' } }))).toBe(false);
    expect(c.set('d', answer({ status: 'not_found' }))).toBe(true);
    expect(new AnswerCache(0, 60_000).set('e', answer())).toBe(false);
  });
});

describe('corpus generations and the cache activities', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-cache-'));
  });
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  test('a bump changes the generation of that tenant only', async () => {
    const g = CorpusGenerations.inDataDir(dir);
    expect(await g.current('acme')).toBe('initial');
    const t = await g.bump('acme');
    expect(await g.current('acme')).toBe(t);
    expect(await g.current('globex')).toBe('initial');
    expect(await g.bump('acme')).not.toBe(t);
    await expect(g.bump('../etc')).rejects.toThrow();
  });

  test('a stored answer is served for its key until the corpus changes, and only above the threshold', async () => {
    const generations = CorpusGenerations.inDataDir(dir);
    const acts = createAnswerCacheActivities({ generations, maxEntries: 100, maxAgeMs: 60_000, models: 'e|a' });
    const ask = { tenantId: 'acme', question: 'How many vacation days?', topK: 6, calibration: 'h', threshold: 0.6 };
    const first = await acts.lookupCachedAnswer(ask);
    expect(first.hit).toBeUndefined();
    expect(first.key).toBeDefined();
    await acts.storeCachedAnswer({ key: first.key!, result: answer() });
    const second = await acts.lookupCachedAnswer({ ...ask, question: 'how many vacation days' });
    expect(second.hit?.answer).toBe(answer().answer);
    // A stricter threshold than the cached confidence: not served from the cache.
    expect((await acts.lookupCachedAnswer({ ...ask, threshold: 0.95 })).hit).toBeUndefined();
    // Another tenant, the same question: never served.
    expect((await acts.lookupCachedAnswer({ ...ask, tenantId: 'globex' })).hit).toBeUndefined();
    await generations.bump('acme');
    expect((await acts.lookupCachedAnswer(ask)).hit).toBeUndefined();
    const text = await registry.getSingleMetricAsString('groundwork_cache_hits_total');
    expect(text).toMatch(/groundwork_cache_hits_total \d+/);
  });

  test('size 0 turns the cache off', async () => {
    const acts = createAnswerCacheActivities({
      generations: CorpusGenerations.inDataDir(dir),
      maxEntries: 0,
      maxAgeMs: 60_000,
      models: 'e|a',
    });
    const r = await acts.lookupCachedAnswer({
      tenantId: 'acme',
      question: 'q',
      topK: 6,
      calibration: 'h',
      threshold: 0.6,
    });
    expect(r).toEqual({});
  });
});
