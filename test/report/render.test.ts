// The evaluation report renderer: pure data → HTML. Text is escaped, charts carry one point per value, an empty
// history still makes a page, and the baseline table flags drift exactly as the evaluation does.
import { lineChart, riskCoverageChart } from '../../client/report/charts';
import { escapeHtml } from '../../client/report/escape';
import { baselineRows, riskCoverageOf, runRecordOf } from '../../client/report/model';
import type { EvaluationReportData, EvaluationRunRecord } from '../../client/report/model';
import { renderEvaluationReport } from '../../client/report/render';
import { detectDrift } from '../../workflows/evaluation-scoring';
import { metrics, report, result, run } from './fixtures';

const data = (runs: EvaluationRunRecord[], over: Partial<EvaluationReportData> = {}): EvaluationReportData => ({
  tenantId: 'acme',
  generatedAt: '2026-02-01T00:00:00.000Z',
  runs,
  driftTolerance: 0.1,
  cost: null,
  costNote: 'nothing recorded',
  ...over,
});

/** The `points` of every polyline of a chart (or page), each as a list of [x, y]. */
function polylines(html: string): number[][][] {
  return [...html.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) =>
    (m[1] ?? '')
      .trim()
      .split(/\s+/)
      .map((p) => p.split(',').map(Number)),
  );
}

const HOSTILE = `What is <script>alert("x")</script> & <img src=x onerror=alert(1)>?`;

describe('escaping', () => {
  test('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  test('a golden question containing <script> renders inert in the worst-questions table', () => {
    const r = run(3, [result(HOSTILE, 0.95, false), result('fine', 0.9, true)]);
    const html = renderEvaluationReport(data([r]));
    expect(html).toContain(
      'What is &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;?',
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    // No element carries an event handler attribute: the only "onerror" is inside escaped text.
    expect(html).not.toMatch(/<[^>]*\son\w+=/i);
  });

  test('the page fetches nothing: a CSP that allows no source, no external URL, no script', () => {
    const html = renderEvaluationReport(data([run(1, [result('q', 0.9, true)]), run(2, [result('q', 0.4, false)])]));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });
});

describe('charts', () => {
  test('a line chart has one polyline point and one dot per run with a value; missing values are skipped', () => {
    const svg = lineChart('Accuracy', [
      { label: 'a', value: 0.5 },
      { label: 'b', value: null },
      { label: 'c', value: 1 },
      { label: 'd', value: 0 },
    ]);
    const [line] = polylines(svg);
    expect(line).toHaveLength(3);
    expect(svg.match(/<circle class="dot"/g)).toHaveLength(3);
    // Higher values are drawn higher (smaller y); the x order follows the runs.
    const [a, c, d] = line as number[][];
    expect(c![1]).toBeLessThan(a![1]!);
    expect(a![1]).toBeLessThan(d![1]!);
    expect(a![0]).toBeLessThan(c![0]!);
    expect(c![0]).toBeLessThan(d![0]!);
  });

  test('one value draws a dot but no line; no values say so', () => {
    expect(polylines(lineChart('x', [{ label: 'a', value: 0.3 }]))).toHaveLength(0);
    expect(lineChart('x', [{ label: 'a', value: 0.3 }]).match(/<circle class="dot"/g)).toHaveLength(1);
    expect(lineChart('x', [{ label: 'a', value: null }])).toContain('no values');
  });

  test('the risk–coverage curve has one point per distinct confidence, and rings the operating threshold', () => {
    const outcomes: [number, 0 | 1][] = [
      [0.9, 1],
      [0.9, 0],
      [0.8, 1],
      [0.6, 0],
      [0.3, 1],
    ];
    const curve = riskCoverageOf(outcomes);
    expect(curve).toEqual([
      { coverage: 0.4, risk: 0.5, confidence: 0.9 },
      { coverage: 0.6, risk: 1 / 3, confidence: 0.8 },
      { coverage: 0.8, risk: 0.5, confidence: 0.6 },
      { coverage: 1, risk: 0.4, confidence: 0.3 },
    ]);
    const svg = riskCoverageChart('rc', curve, 0.7);
    expect(polylines(svg)[0]).toHaveLength(4);
    // The threshold 0.7 serves the answers at 0.9 and 0.8: the ring is on the second point.
    const ring = /<circle class="operating" cx="([\d.]+)"/.exec(svg);
    const second = polylines(svg)[0]?.[1];
    expect(Number(ring?.[1])).toBe(second?.[0]);
  });

  test('the page draws five metric charts with one point per run, and the risk–coverage curve of the last run', () => {
    const runs = [
      run(1, [result('a', 0.9, true), result('b', 0.8, true), result('c', 0.2, false)]),
      run(2, [result('a', 0.9, true), result('b', 0.6, false), result('c', 0.2, false)]),
      run(3, [result('a', 0.95, false), result('b', 0.7, true), result('c', 0.1, true)]),
    ];
    const html = renderEvaluationReport(data(runs));
    const lines = polylines(html);
    // Five metrics over three runs (every run has all five values), then the risk–coverage curve (three confidences).
    expect(lines.map((l) => l.length)).toEqual([3, 3, 3, 3, 3, 3]);
    for (const key of ['answerAccuracy', 'abstentionAccuracy', 'servedWrongRate', 'escalationRate', 'meanConfidence'])
      expect(html).toContain(`data-metric="${key}"`);
  });
});

describe('run records', () => {
  test('outcomes, served-wrong and the worst questions come from every result, confidently wrong first', () => {
    const results = [result('a', 0.4, false), result('b', 0.9, false), result('c', 0.7, true), result('d', 0.2, true)];
    const r = runRecordOf(report({ metrics: metrics({ questions: 4 }) }), results, 'r1', {
      runKey: 'r1',
      threshold: 0.5,
      driftTolerance: 0.1,
    });
    expect(r.outcomes).toEqual([
      [0.4, 0],
      [0.9, 0],
      [0.7, 1],
      [0.2, 1],
    ]);
    // Served (≥ 0.5) and wrong: b only.
    expect(r.servedWrongRate).toBe(0.25);
    expect(r.worst.map((q) => [q.question, q.served])).toEqual([
      ['b', true],
      ['a', false],
    ]);
  });

  test('a repeated result (a retried page) counts once; a failures-only list is not taken for every outcome', () => {
    const dup = runRecordOf(
      report({ metrics: metrics({ questions: 2 }) }),
      [result('a', 0.9, true), result('b', 0.2, false), result('a', 0.9, true)],
      'r',
      { runKey: 'r', threshold: 0.5, driftTolerance: 0.1 },
    );
    expect(dup.outcomes).toHaveLength(2);
    const partial = runRecordOf(report({ metrics: metrics({ questions: 3 }) }), [result('b', 0.2, false)], 'r');
    expect(partial.outcomes).toBeNull();
    expect(partial.servedWrongRate).toBeNull();
    expect(partial.worst.map((q) => q.served)).toEqual([null]);
  });
});

describe('the baseline table', () => {
  test('flags the metrics the drift check flags, with signed deltas', () => {
    const baseline = metrics({ answerAccuracy: 0.9, escalationRate: 0.1, abstentionAccuracy: 1, retrievalHitRate: 1 });
    const now = metrics({ answerAccuracy: 0.7, escalationRate: 0.15, abstentionAccuracy: 0.95, retrievalHitRate: 1 });
    const r = runRecordOf(report({ metrics: now, baseline }), [], 'r', {
      runKey: 'r',
      threshold: 0.5,
      driftTolerance: 0.1,
    });
    const rows = baselineRows(r, 0.1);
    expect(rows.filter((x) => x.drift).map((x) => x.title)).toEqual(['Accuracy']);
    expect(detectDrift(now, baseline, 0.1).reasons).toHaveLength(1);
    expect(rows.find((x) => x.title === 'Accuracy')?.delta).toBeCloseTo(-0.2);
    // A tighter tolerance flags the escalation rise too, the way the evaluation would.
    const tight = baselineRows({ ...r, driftTolerance: 0.04 }, 0.1);
    expect(tight.filter((x) => x.drift).map((x) => x.title)).toEqual([
      'Accuracy',
      'Not-found accuracy',
      'Escalation rate',
    ]);
    const html = renderEvaluationReport(data([r]));
    expect(html.match(/<tr class="drift">/g)).toHaveLength(1);
    expect(html).toContain('−20.0 pp');
  });

  test('a run without a baseline says it became the baseline', () => {
    const html = renderEvaluationReport(data([run(1, [result('a', 0.9, true)])]));
    expect(html).toContain('it became the baseline');
  });
});

test('a run without golden questions says so instead of drawing a curve', () => {
  const empty = runRecordOf(report({ metrics: metrics({ questions: 0 }) }), [], 'r');
  const html = renderEvaluationReport(data([empty]));
  expect(html).toContain('The last run had no golden questions.');
  expect(html).not.toContain('class="chart risk-coverage"');
});

describe('an empty history', () => {
  test('renders a page that says there are no runs yet and how to make one, with no charts', () => {
    const html = renderEvaluationReport(data([]));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('No evaluation runs are recorded for this tenant yet');
    expect(html).toContain('groundwork eval run --tenant acme');
    expect(html).not.toContain('<svg');
    expect(html).toContain('not recorded — nothing recorded');
    expect(html.trim().endsWith('</html>')).toBe(true);
  });
});

describe('cost per query', () => {
  test('shows the ledger spend and the cost per answer', () => {
    const html = renderEvaluationReport(
      data([run(1, [result('a', 0.9, true)])], {
        cost: {
          from: '2026-01-01T00:00:00Z',
          to: '2026-01-31T00:00:00Z',
          costUsd: 1.5,
          answers: 300,
          costPerAnswerUsd: 0.004,
        },
      }),
    );
    expect(html).toContain('$0.004000');
    expect(html).toContain('$1.5000');
    expect(html).toContain('2026-01-01 – 2026-01-31');
  });
});
