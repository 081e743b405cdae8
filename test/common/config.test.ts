import { ConfigError, durationToMs, loadConfig } from '../../common/config';

describe('configuration', () => {
  test('defaults need no environment at all', () => {
    const c = loadConfig({});
    expect(c.temporal.taskQueue).toBe('groundwork');
    // No fixed threshold: heuristic confidence uses 0.6, calibrated confidence derives it from the target risk.
    expect(c.answering.defaultThreshold).toBeUndefined();
    expect(c.answering.confidence).toBe('heuristic');
    expect(c.answering.targetRisk).toBe(0.05);
    expect(c.answering.modelFallback).toBe('escalate');
    expect(c.vectors.qdrantUrl).toBeUndefined();
    expect(c.vectors.lancedbDir.endsWith('lancedb')).toBe(true);
    expect(c.models.embeddings.provider).toBe('offline');
    expect(c.models.answers.provider).toBe('offline');
  });

  test('a bad value fails with a message naming the variable', () => {
    expect(() => loadConfig({ GROUNDWORK_CONFIDENCE_THRESHOLD: 'high' })).toThrow(/GROUNDWORK_CONFIDENCE_THRESHOLD/);
    expect(() => loadConfig({ GROUNDWORK_CONFIDENCE_THRESHOLD: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig({ GROUNDWORK_REVIEW_TIMEOUT: 'tomorrow' })).toThrow(
      /GROUNDWORK_REVIEW_TIMEOUT must be a duration/,
    );
    expect(() => loadConfig({ QDRANT_URL: 'not a url' })).toThrow(/QDRANT_URL/);
  });

  test('never echoes a secret value in an error', () => {
    try {
      loadConfig({ OPENAI_API_KEY: 'sk-secret-123', OPENAI_BASE_URL: 'nope', GROUNDWORK_TOP_K: 'x' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).not.toContain('sk-secret-123');
      expect((err as Error).message).toMatch(/OPENAI_BASE_URL/);
    }
  });

  test('per-tenant thresholds are read as a map beside the default', () => {
    const c = loadConfig({ GROUNDWORK_TENANT_THRESHOLDS: 'acme=0.8, globex=0.3' });
    expect(c.answering.tenantThresholds).toEqual({ acme: 0.8, globex: 0.3 });
    expect(loadConfig({ GROUNDWORK_CONFIDENCE_THRESHOLD: '0.7' }).answering.defaultThreshold).toBe(0.7);
    expect(() => loadConfig({ GROUNDWORK_CONFIDENCE_THRESHOLD: '1.5' })).toThrow(/GROUNDWORK_CONFIDENCE_THRESHOLD/);
    expect(() => loadConfig({ GROUNDWORK_TARGET_RISK: '-1' })).toThrow(/GROUNDWORK_TARGET_RISK/);
    expect(() => loadConfig({ GROUNDWORK_CHAT_TIMEOUT: '30s' })).toThrow(/GROUNDWORK_CHAT_TIMEOUT/);
    expect(() => loadConfig({ GROUNDWORK_TENANT_MODEL_FALLBACK: 'acme=maybe' })).toThrow(
      /GROUNDWORK_TENANT_MODEL_FALLBACK/,
    );
    expect(loadConfig({ GROUNDWORK_TENANT_MODEL_FALLBACK: 'acme=extractive' }).answering.tenantModelFallback).toEqual({
      acme: 'extractive',
    });
    expect(() => loadConfig({ GROUNDWORK_TENANT_THRESHOLDS: 'acme=2' })).toThrow(/GROUNDWORK_TENANT_THRESHOLDS/);
  });

  test('refuses a parse timeout at or above the parse activity timeout', () => {
    expect(() => loadConfig({ GROUNDWORK_PARSE_TIMEOUT: '10m' })).toThrow(/GROUNDWORK_PARSE_TIMEOUT must be below/);
    expect(() => loadConfig({ GROUNDWORK_PARSE_TIMEOUT: '2h' })).toThrow(ConfigError);
    expect(loadConfig({ GROUNDWORK_PARSE_TIMEOUT: '9m' }).ingest.parseTimeoutMs).toBe(540_000);
  });

  test('an unknown embedding model without OPENAI_EMBEDDING_DIMENSIONS is a start-up error', () => {
    const env = { OPENAI_API_KEY: 'sk-x', OPENAI_EMBEDDING_MODEL: 'my-embedder' };
    expect(() => loadConfig(env)).toThrow(/OPENAI_EMBEDDING_DIMENSIONS is required/);
    expect(loadConfig({ ...env, OPENAI_EMBEDDING_DIMENSIONS: '768' }).models.embeddings.dimensions).toBe(768);
    expect(loadConfig({ OPENAI_API_KEY: 'sk-x' }).models.embeddings.model).toBe('text-embedding-3-small');
    expect(() =>
      loadConfig({ GROUNDWORK_EMBEDDINGS: 'openai', EMBEDDINGS_API_KEY: 'k', EMBEDDINGS_MODEL: 'x' }),
    ).toThrow(/EMBEDDINGS_DIMENSIONS is required for the embedding model "x"/);
    expect(() => loadConfig({ GROUNDWORK_EMBEDDINGS: 'local', EMBEDDINGS_MODEL: 'bge-m3' })).toThrow(
      /EMBEDDINGS_DIMENSIONS is required/,
    );
  });

  describe('embeddings and answers are chosen separately', () => {
    const models = (env: NodeJS.ProcessEnv) => loadConfig(env).models;

    test('OPENAI_API_KEY alone: openai for both, with the OPENAI_* defaults (as before)', () => {
      expect(
        models({ OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://llm.local/v1', OPENAI_CHAT_MODEL: 'c' }),
      ).toEqual({
        embeddings: {
          provider: 'openai',
          apiKey: 'sk-x',
          baseUrl: 'http://llm.local/v1',
          model: 'text-embedding-3-small',
          dimensions: 1536,
          requestDimensions: undefined,
        },
        answers: { provider: 'openai', apiKey: 'sk-x', baseUrl: 'http://llm.local/v1', model: 'c', timeoutMs: 20_000 },
      });
    });

    test('nothing set: offline for both', () => {
      expect(models({})).toMatchObject({ embeddings: { provider: 'offline' }, answers: { provider: 'offline' } });
    });

    test('local embeddings with a hosted chat model', () => {
      const m = models({ GROUNDWORK_EMBEDDINGS: 'local', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://llm/v1' });
      // The local server gets none of the hosted provider's settings.
      expect(m.embeddings).toEqual({
        provider: 'local',
        baseUrl: undefined,
        apiKey: undefined,
        model: 'multilingual-e5-small-q4',
        dimensions: 384,
      });
      expect(m.answers).toMatchObject({ provider: 'openai', apiKey: 'sk-x', baseUrl: 'http://llm/v1' });
    });

    test('local embeddings at a given server, offline answers despite an OpenAI key', () => {
      const m = models({
        GROUNDWORK_EMBEDDINGS: 'local',
        EMBEDDINGS_BASE_URL: 'http://127.0.0.1:9000/v1',
        GROUNDWORK_ANSWERS: 'offline',
        OPENAI_API_KEY: 'sk-x',
      });
      expect(m.embeddings).toMatchObject({ provider: 'local', baseUrl: 'http://127.0.0.1:9000/v1', dimensions: 384 });
      expect(m.answers.provider).toBe('offline');
    });

    test('EMBEDDINGS_* and CHAT_* override the OPENAI_* defaults, each on its own side', () => {
      const m = models({
        OPENAI_API_KEY: 'sk-default',
        EMBEDDINGS_API_KEY: 'sk-emb',
        EMBEDDINGS_BASE_URL: 'http://emb/v1',
        EMBEDDINGS_MODEL: 'nomic-embed-text',
        EMBEDDINGS_DIMENSIONS: '768',
        CHAT_API_KEY: 'sk-chat',
        CHAT_BASE_URL: 'http://chat/v1',
        CHAT_MODEL: 'qwen2.5:3b',
      });
      expect(m.embeddings).toEqual({
        provider: 'openai',
        apiKey: 'sk-emb',
        baseUrl: 'http://emb/v1',
        model: 'nomic-embed-text',
        dimensions: 768,
        requestDimensions: 768,
      });
      expect(m.answers).toEqual({
        provider: 'openai',
        apiKey: 'sk-chat',
        baseUrl: 'http://chat/v1',
        model: 'qwen2.5:3b',
        timeoutMs: 20_000,
      });
    });

    test('a key for one side only selects openai for that side only', () => {
      expect(models({ CHAT_API_KEY: 'sk-chat' })).toMatchObject({
        embeddings: { provider: 'offline' },
        answers: { provider: 'openai', apiKey: 'sk-chat' },
      });
      expect(models({ EMBEDDINGS_API_KEY: 'sk-emb' })).toMatchObject({
        embeddings: { provider: 'openai', apiKey: 'sk-emb' },
        answers: { provider: 'offline' },
      });
    });

    test('an explicit openai without any key or server is a start-up error; a server without keys is fine', () => {
      expect(() => models({ GROUNDWORK_ANSWERS: 'openai' })).toThrow(/GROUNDWORK_ANSWERS=openai needs CHAT_API_KEY/);
      expect(() => models({ GROUNDWORK_EMBEDDINGS: 'openai' })).toThrow(/GROUNDWORK_EMBEDDINGS=openai needs/);
      expect(models({ GROUNDWORK_ANSWERS: 'openai', CHAT_BASE_URL: 'http://127.0.0.1:8080/v1' }).answers).toMatchObject(
        { provider: 'openai', apiKey: 'not-needed' },
      );
    });

    test('unknown providers are refused', () => {
      expect(() => models({ GROUNDWORK_EMBEDDINGS: 'magic' })).toThrow(/GROUNDWORK_EMBEDDINGS/);
      expect(() => models({ GROUNDWORK_ANSWERS: 'local' })).toThrow(/GROUNDWORK_ANSWERS/);
    });
  });

  test('reads the Temporal connection through envconfig', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_API_KEY: 'k',
    });
    expect(c.temporal).toMatchObject({ address: 'temporal.example:7233', namespace: 'prod', apiKey: 'k', tls: true });
    expect(loadConfig({}).temporal).toMatchObject({ address: undefined, namespace: 'default' });
  });

  test('durations convert to milliseconds', () => {
    expect(durationToMs('90s')).toBe(90_000);
    expect(durationToMs('24h')).toBe(86_400_000);
    expect(() => durationToMs('1 week')).toThrow();
  });
});
