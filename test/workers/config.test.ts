import { ConfigError, durationToMs, loadConfig, thresholdFor } from '../../workers/config';

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
    expect(() => loadConfig({ GROUNDWORK_REVIEW_TIMEOUT: 'tomorrow' })).toThrow(/GROUNDWORK_REVIEW_TIMEOUT must be a duration/);
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

  test('per-tenant thresholds override the default', () => {
    const c = loadConfig({ GROUNDWORK_TENANT_THRESHOLDS: 'acme=0.8, globex=0.3' });
    expect(thresholdFor(c, 'acme')).toBe(0.8);
    expect(thresholdFor(c, 'globex')).toBe(0.3);
    expect(thresholdFor(c, 'other')).toBe(0.6);
    expect(() => loadConfig({ GROUNDWORK_TENANT_THRESHOLDS: 'acme=2' })).toThrow(/GROUNDWORK_TENANT_THRESHOLDS/);
  });

  test('durations convert to milliseconds', () => {
    expect(durationToMs('90s')).toBe(90_000);
    expect(durationToMs('24h')).toBe(86_400_000);
    expect(() => durationToMs('1 week')).toThrow();
  });
});
