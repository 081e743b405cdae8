// An evaluation report as one self-contained HTML page: inline CSS and inline SVG, no script, no font or image
// fetched from anywhere (the Content-Security-Policy forbids it), so it opens from a file with the network off.
import { lineChart, riskCoverageChart } from './charts';
import { escapeHtml, percent, points } from './escape';
import { TRACKED_METRICS, baselineRows, metricValue, riskCoverageOf } from './model';
import type { EvaluationReportData, EvaluationRunRecord } from './model';

/** Nothing may load: styles are inline, there is no script, no font and no image. */
export const REPORT_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS = `
:root{color-scheme:light;--fg:#1d2330;--muted:#5b6478;--line:#d8dce6;--accent:#2457c5;--bad:#b3261e;--ok:#1e7a3c}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f6f7fa}
main{max-width:1140px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.muted{color:var(--muted)}
.banner{padding:10px 14px;border-radius:6px;margin:14px 0;border:1px solid var(--line);background:#fff}
.banner.drift{border-color:var(--bad);color:var(--bad)}
.banner.ok{border-color:var(--ok);color:var(--ok)}
.grid-charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px}
figcaption{font-weight:600;margin-bottom:4px;display:flex;justify-content:space-between}
figcaption .now{font-weight:400;color:var(--muted)}
svg.chart{display:block;width:100%;height:auto}
#risk-coverage figure{max-width:620px}
svg .grid{stroke:var(--line);stroke-width:1}
svg .tick,svg .axis,svg .empty{fill:var(--muted);font-size:10px}
svg .series{stroke:var(--accent);stroke-width:2}
svg .dot{fill:var(--accent)}
svg .operating{stroke:var(--bad);stroke-width:2}
table{border-collapse:collapse;background:#fff;width:100%;border:1px solid var(--line)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef0f5;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.drift td{color:var(--bad);font-weight:600}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;border:1px solid currentColor}
.tag.bad{color:var(--bad)}.tag.warn{color:#8a5a00}
.question{max-width:560px;overflow-wrap:anywhere}
footer{margin-top:32px;color:var(--muted);font-size:12px}
`;

const day = (iso: string): string => iso.slice(0, 10);
const stamp = (iso: string): string => iso.replace('T', ' ').slice(0, 16) + ' UTC';

function metricsOverTime(runs: EvaluationRunRecord[]): string {
  const figures = TRACKED_METRICS.map(({ key, title, better }) => {
    const series = runs.map((r) => ({ label: stamp(r.runAt), value: metricValue(r, key) }));
    const now = series.at(-1)?.value;
    return (
      `<figure data-metric="${key}"><figcaption><span>${escapeHtml(title)}</span>` +
      `<span class="now">last ${escapeHtml(percent(now))} · ${better} is better</span></figcaption>` +
      `${lineChart(`${title} over time`, series)}</figure>`
    );
  });
  return `<section id="over-time"><h2>Metrics over time</h2><div class="grid-charts">${figures.join('')}</div></section>`;
}

function baselineSection(last: EvaluationRunRecord, data: EvaluationReportData): string {
  const head = '<h2>Last run against the baseline</h2>';
  if (!last.baseline)
    return `<section id="baseline">${head}<p class="muted">This run had no baseline to compare with: it became the baseline.</p></section>`;
  const tolerance = last.driftTolerance ?? data.driftTolerance;
  const rows = baselineRows(last, data.driftTolerance)
    .map(
      (row) =>
        `<tr${row.drift ? ' class="drift"' : ''}><td>${escapeHtml(row.title)}</td>` +
        `<td class="num">${escapeHtml(percent(row.baseline))}</td><td class="num">${escapeHtml(percent(row.last))}</td>` +
        `<td class="num">${escapeHtml(points(row.delta))}</td><td>${row.drift ? '<span class="tag bad">drift</span>' : ''}</td></tr>`,
    )
    .join('');
  return (
    `<section id="baseline">${head}<table class="baseline"><thead><tr><th>Metric</th><th class="num">Baseline</th>` +
    `<th class="num">Last run</th><th class="num">Change</th><th>Drift</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p class="muted">A metric drifts when it moves the wrong way by more than the tolerance, ${escapeHtml(
      points(tolerance).replace(/^[+±]/, ''),
    )}; mean confidence is shown, not checked.</p></section>`
  );
}

function riskCoverageSection(last: EvaluationRunRecord): string {
  const head = '<h2>Risk–coverage of the last run</h2>';
  if (last.metrics.questions === 0)
    return `<section id="risk-coverage">${head}<p class="muted">The last run had no golden questions.</p></section>`;
  if (!last.outcomes)
    return `<section id="risk-coverage">${head}<p class="muted">This run did not record its per-question outcomes (it ran before reports were kept).</p></section>`;
  const curve = riskCoverageOf(last.outcomes);
  const note =
    last.threshold === null
      ? ''
      : ` The ring is the tenant's threshold (${escapeHtml(last.threshold.toFixed(3))}): answers below it are escalated.`;
  return (
    `<section id="risk-coverage">${head}<figure><figcaption><span>Risk (share of served answers that are wrong) ` +
    `against coverage</span><span class="now">${curve.length} thresholds</span></figcaption>` +
    `${riskCoverageChart('Risk–coverage curve', curve, last.threshold)}</figure>` +
    `<p class="muted">Each point serves every answer at or above one confidence, highest first.${note}</p></section>`
  );
}

function worstSection(last: EvaluationRunRecord): string {
  const head = '<h2>Worst questions</h2>';
  if (last.worst.length === 0)
    return `<section id="worst">${head}<p class="muted">No wrong answers in the last run.</p></section>`;
  const rows = last.worst
    .map(
      (q) =>
        `<tr><td class="question">${escapeHtml(q.question)}</td><td>${escapeHtml(q.status)}</td>` +
        `<td class="num">${escapeHtml(q.confidence.toFixed(3))}</td>` +
        `<td>${q.served === null ? '—' : q.served ? '<span class="tag bad">served</span>' : '<span class="tag warn">escalated</span>'}</td>` +
        `<td>${q.retrievalHit === null ? '—' : q.retrievalHit ? 'yes' : 'no'}</td></tr>`,
    )
    .join('');
  return (
    `<section id="worst">${head}<p class="muted">Wrong answers of the last run, the most confident first: a confident ` +
    `wrong answer is served without review.</p><table class="worst"><thead><tr><th>Question</th><th>Status</th>` +
    `<th class="num">Confidence</th><th>Outcome</th><th>Right document retrieved</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

function costSection(data: EvaluationReportData): string {
  const head = '<h2>Cost per query</h2>';
  const cost = data.cost;
  if (!cost)
    return `<section id="cost">${head}<p class="muted">not recorded${
      data.costNote ? ` — ${escapeHtml(data.costNote)}` : ''
    }</p></section>`;
  const perQuery = cost.costPerAnswerUsd === null ? '—' : `$${cost.costPerAnswerUsd.toFixed(6)}`;
  return (
    `<section id="cost">${head}<table class="cost"><thead><tr><th>Window</th><th class="num">Answers</th>` +
    `<th class="num">All model spend</th><th class="num">Per query (answers)</th></tr></thead><tbody><tr><td>${escapeHtml(
      `${day(cost.from)} – ${day(cost.to)}`,
    )}</td><td class="num">${escapeHtml(cost.answers)}</td><td class="num">${escapeHtml(
      `$${cost.costUsd.toFixed(4)}`,
    )}</td><td class="num">${escapeHtml(perQuery)}</td></tr></tbody></table><p class="muted">From the usage ledger: ` +
    `the model spend of answer runs over their number${cost.answers === 0 ? ' (no answers in the window)' : ''}.</p></section>`
  );
}

function historySection(runs: EvaluationRunRecord[]): string {
  const rows = [...runs]
    .reverse()
    .map(
      (r) =>
        `<tr${r.drift.detected ? ' class="drift"' : ''}><td>${escapeHtml(stamp(r.runAt))}</td>` +
        `<td class="num">${escapeHtml(r.metrics.questions)}</td>` +
        TRACKED_METRICS.map(({ key }) => `<td class="num">${escapeHtml(percent(metricValue(r, key)))}</td>`).join('') +
        `<td>${r.drift.detected ? escapeHtml(r.drift.reasons.join('; ')) : ''}</td></tr>`,
    )
    .join('');
  return (
    `<section id="runs"><h2>Runs</h2><table class="runs"><thead><tr><th>Run</th><th class="num">Questions</th>` +
    TRACKED_METRICS.map(({ title }) => `<th class="num">${escapeHtml(title)}</th>`).join('') +
    `<th>Drift</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

/** The whole page. Pure: the same data gives the same bytes. */
export function renderEvaluationReport(data: EvaluationReportData): string {
  const last = data.runs.at(-1);
  const title = `Evaluation report — ${data.tenantId}`;
  let body: string;
  if (!last) {
    body =
      `<div class="banner" id="empty">No evaluation runs are recorded for this tenant yet. Run one with ` +
      `<code>groundwork eval run --tenant ${escapeHtml(data.tenantId)} --golden golden.json</code> or put it on a ` +
      `schedule with <code>groundwork eval schedule</code>; each run adds to this report.</div>` +
      costSection(data);
  } else {
    const banner = last.drift.detected
      ? `<div class="banner drift" id="drift"><strong>Drift detected</strong> in the last run: ${escapeHtml(
          last.drift.reasons.join('; '),
        )}</div>`
      : `<div class="banner ok" id="drift">No drift in the last run${last.baseline ? '' : ' (it set the baseline)'}.</div>`;
    body =
      banner +
      metricsOverTime(data.runs) +
      baselineSection(last, data) +
      riskCoverageSection(last) +
      worstSection(last) +
      costSection(data) +
      historySection(data.runs);
  }
  const summary = last
    ? `${data.runs.length} run${data.runs.length === 1 ? '' : 's'}, the last on ${escapeHtml(stamp(last.runAt))}` +
      ` (${escapeHtml(last.metrics.questions)} questions${
        last.threshold === null ? '' : `, threshold ${escapeHtml(last.threshold.toFixed(3))}`
      })`
    : 'no runs';
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CONTENT_SECURITY_POLICY}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body><main>` +
    `<h1>${escapeHtml(title)}</h1><p class="muted">${summary}. Generated ${escapeHtml(stamp(data.generatedAt))}.</p>` +
    body +
    `<footer>Groundwork evaluation report. Rates are shares of the golden questions; served means at or above the ` +
    `tenant's confidence threshold (not escalated to review).</footer></main></body></html>\n`
  );
}
