import { ConfigError, durationToMs, loadConfig } from '../../common/config';

describe('configuration', () => {
  test('defaults need no environment at all', () => {
    const c = loadConfig({});
    expect(c.temporal.taskQueue).toBe('groundwork');
    expect(c.answering.defaultThreshold).toBe(0.6);
    expect(c.vectors.qdrantUrl).toBeUndefined();
    expect(c.vectors.lancedbDir.endsWith('lancedb')).toBe(true);
    expect(c.models.openaiApiKey).toBeUndefined();
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
    expect(c.answering.defaultThreshold).toBe(0.6);
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
    expect(loadConfig({ ...env, OPENAI_EMBEDDING_DIMENSIONS: '768' }).models.embeddingDimensions).toBe(768);
    expect(loadConfig({ OPENAI_API_KEY: 'sk-x' }).models.embeddingModel).toBe('text-embedding-3-small');
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
