// The worker metrics recorded at the activity boundary (workers/activity-metrics.ts), through the real interceptor
// around stand-in activities, and the tenant-label rule: a `tenant` label only with GROUNDWORK_METRICS_TENANT_LABEL=true.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { labelsFor, metrics, resetTenantLabelSetting } from '../../common/metrics';
import { activityMetrics } from '../../workers/activity-metrics';

const run = (activityType: string, input: unknown, result: unknown, info: Partial<Info> = {}) => {
  const env = new MockActivityEnvironment({ activityType, attempt: 1, ...info }, { interceptors: [activityMetrics] });
  return env.run(async (_input: unknown) => result, input);
};

/** The value of the series with exactly these labels (0 when absent). */
async function value(
  metric: { get(): Promise<{ values: { value: number; labels: object; metricName?: string }[] }> },
  labels: object,
  suffix = '',
) {
  const { values } = await metric.get();
  const want = JSON.stringify(Object.entries(labels).sort());
  const hit = values.find(
    (v) =>
      JSON.stringify(Object.entries(v.labels).sort()) === want && (suffix === '' || v.metricName?.endsWith(suffix)),
  );
  return hit?.value ?? 0;
}

afterEach(() => {
  delete process.env.GROUNDWORK_METRICS_TENANT_LABEL;
  resetTenantLabelSetting();
});

describe('the tenant label', () => {
  test('is left out unless GROUNDWORK_METRICS_TENANT_LABEL=true', () => {
    resetTenantLabelSetting();
    expect(labelsFor({ status: 'answered' }, 'acme')).toEqual({ status: 'answered' });
    process.env.GROUNDWORK_METRICS_TENANT_LABEL = 'false';
    resetTenantLabelSetting();
    expect(labelsFor({ status: 'answered' }, 'acme')).toEqual({ status: 'answered' });
  });

  test('is added with GROUNDWORK_METRICS_TENANT_LABEL=true, and only when the observation has a tenant', () => {
    process.env.GROUNDWORK_METRICS_TENANT_LABEL = 'true';
    resetTenantLabelSetting();
    expect(labelsFor({ status: 'answered' }, 'acme')).toEqual({ status: 'answered', tenant: 'acme' });
    expect(labelsFor({ status: 'answered' })).toEqual({ status: 'answered' });
  });

  test('reaches the series an activity records', async () => {
    process.env.GROUNDWORK_METRICS_TENANT_LABEL = 'true';
    resetTenantLabelSetting();
    await run('activateDocument', { tenantId: 'labelco', documentId: 'd' }, { activated: 1, retired: 0 });
    expect(await value(metrics.ingestDocuments, { status: 'ingested', code: '', tenant: 'labelco' })).toBe(1);
    delete process.env.GROUNDWORK_METRICS_TENANT_LABEL;
    resetTenantLabelSetting();
    const before = await value(metrics.ingestDocuments, { status: 'ingested', code: '' });
    await run('activateDocument', { tenantId: 'labelco', documentId: 'd' }, { activated: 1, retired: 0 });
    expect(await value(metrics.ingestDocuments, { status: 'ingested', code: '' })).toBe(before + 1);
    expect(await value(metrics.ingestDocuments, { status: 'ingested', code: '', tenant: 'labelco' })).toBe(1);
  });
});

describe('ingestion', () => {
  test('a parsed document adds its pages and sheets and one parse time; an unchanged one counts as unchanged', async () => {
    const pages = await value(metrics.ingestPages, {});
    const parsed = await value(metrics.ingestSeconds, {}, '_count');
    const unchanged = await value(metrics.ingestDocuments, { status: 'unchanged', code: '' });
    await run('prepareDocument', { tenantId: 'acme' }, { unchanged: false, pages: 3, sheets: 2, chunks: 9 });
    await run('prepareDocument', { tenantId: 'acme' }, { unchanged: true, chunks: 9 });
    expect(await value(metrics.ingestPages, {})).toBe(pages + 5);
    expect(await value(metrics.ingestSeconds, {}, '_count')).toBe(parsed + 1);
    expect(await value(metrics.ingestDocuments, { status: 'unchanged', code: '' })).toBe(unchanged + 1);
  });

  test('a recorded failure counts by its code; a code that is not one becomes OTHER', async () => {
    await run('recordIngestFailure', { tenantId: 'acme', code: 'PDF_ENCRYPTED', message: 'x' }, undefined);
    await run('recordIngestFailure', { tenantId: 'acme', code: 'the text of a file', message: 'x' }, undefined);
    expect(await value(metrics.ingestDocuments, { status: 'failed', code: 'PDF_ENCRYPTED' })).toBe(1);
    expect(await value(metrics.ingestDocuments, { status: 'failed', code: 'OTHER' })).toBe(1);
  });
});

describe('answers and review', () => {
  const workflowExecution = { workflowId: 'answer:acme:q1', runId: 'run-1' };

  test('a verified answer counts by status with its confidence and the time since its retrieval started', async () => {
    const count = await value(metrics.answerSeconds, {}, '_count');
    const answered = await value(metrics.answers, { status: 'answered' });
    await run('retrieveChunks', { tenantId: 'acme' }, { chunks: [] }, { workflowExecution });
    await new Promise((r) => setTimeout(r, 120));
    await run('verifyDraft', { tenantId: 'acme' }, { status: 'answered', confidence: 0.72 }, { workflowExecution });
    expect(await value(metrics.answers, { status: 'answered' })).toBe(answered + 1);
    expect(await value(metrics.answerSeconds, {}, '_count')).toBe(count + 1);
    expect(await value(metrics.answerSeconds, {}, '_sum')).toBeGreaterThanOrEqual(0.1);
    expect(await value(metrics.answerConfidence, { le: 0.7 }, '_bucket')).toBe(0);
    expect(await value(metrics.answerConfidence, { le: 0.8 }, '_bucket')).toBe(1);
  });

  test('a task opening counts one escalation by reason, on the first attempt only; escalation notices do not', async () => {
    const notice = { tenantId: 'acme', taskId: 't', confidence: 0.2, threshold: 0.6 };
    await run('notifyReviewers', { ...notice, event: 'opened', reason: 'MODEL_UNAVAILABLE' }, { delivered: false });
    await run('notifyReviewers', { ...notice, event: 'opened' }, { delivered: false });
    await run('notifyReviewers', { ...notice, event: 'opened' }, { delivered: false }, { attempt: 2 });
    await run('notifyReviewers', { ...notice, event: 'escalated' }, { delivered: false });
    expect(await value(metrics.escalations, { reason: 'model_unavailable' })).toBe(1);
    expect(await value(metrics.escalations, { reason: 'low_confidence' })).toBe(1);
  });

  test('an activity that fails records nothing and its error passes through', async () => {
    const before = await value(metrics.answers, { status: 'answered' });
    const env = new MockActivityEnvironment({ activityType: 'verifyDraft' }, { interceptors: [activityMetrics] });
    await expect(
      env.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await value(metrics.answers, { status: 'answered' })).toBe(before);
  });
});
