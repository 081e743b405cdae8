// The Grafana dashboard (deploy/grafana/groundwork.json) is valid JSON and charts every metric common/metrics.ts
// defines, so a metric added there without a panel fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { metrics } from '../../common/metrics';

const root = path.resolve(__dirname, '..', '..');
const text = readFileSync(path.join(root, 'deploy', 'grafana', 'groundwork.json'), 'utf8');

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
}

test('the dashboard parses, with a uid and panels that query the provisioned Prometheus', () => {
  const dashboard = JSON.parse(text) as { uid: string; title: string; panels: Panel[] };
  expect(dashboard.uid).toBe('groundwork');
  const charts = dashboard.panels.filter((p) => p.type !== 'row');
  expect(charts.length).toBeGreaterThanOrEqual(10);
  for (const p of charts) {
    expect([p.title, p.datasource?.uid]).toEqual([p.title, 'prometheus']);
    expect([p.title, (p.targets ?? []).length > 0]).toEqual([p.title, true]);
  }
  const datasource = readFileSync(path.join(root, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
  expect(datasource).toMatch(/uid: prometheus\b/);
});

test.each(Object.values(metrics).map((m) => [(m as unknown as { name: string }).name]))(
  'the dashboard charts %s',
  (name) => {
    const exprs = (JSON.parse(text) as { panels: Panel[] }).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.some((e) => new RegExp(`\\b${name}(_bucket|_count|_sum)?\\b`).test(e))).toBe(true);
  },
);

test('the dashboard charts the Temporal workflow task latency from the SDK metrics', () => {
  expect(text).toContain('temporal_workflow_task_execution_latency_bucket');
});
