// Inline SVG charts, drawn here (no chart library, no script): a metric over time and a risk–coverage curve.
// Each series is one <polyline> whose `points` are the data, so a reader (or a test) can count them.
import { escapeHtml, percent } from './escape';
import type { RiskCoveragePoint } from './model';

const WIDTH = 360;
const HEIGHT = 180;
const PAD = { left: 44, right: 12, top: 12, bottom: 30 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();
/** Axis ticks: whole percentages (a tick never needs the decimal, and short labels are not clipped). */
const tick = (v: number): string => `${Math.round(v * 100)} %`;

function frame(title: string, body: string, extraClass: string): string {
  return (
    `<svg class="chart ${extraClass}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(title)}</title>${body}</svg>`
  );
}

/** Horizontal grid lines with their labels, on a [0, max] axis. */
function yGrid(max: number, format: (v: number) => string): string {
  return [0, 0.5, 1]
    .map((f) => {
      const y = fmt(PAD.top + PLOT_H * (1 - f));
      return (
        `<line class="grid" x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${y}" y2="${y}"/>` +
        `<text class="tick" x="${PAD.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeHtml(format(f * max))}</text>`
      );
    })
    .join('');
}

export interface TimePoint {
  /** What the point is (a run's date), shown on hover and under the axis. */
  label: string;
  /** Null where the metric does not apply to that run: no point is drawn there. */
  value: number | null;
}

/**
 * A metric over time on a 0–100 % axis: runs are evenly spaced left to right (oldest first); runs without a value
 * are skipped. Two or more values make a polyline; every value also gets a dot with its label.
 */
export function lineChart(title: string, series: TimePoint[]): string {
  const n = series.length;
  const xOf = (i: number): number => PAD.left + (n <= 1 ? PLOT_W / 2 : (PLOT_W * i) / (n - 1));
  const yOf = (v: number): number => PAD.top + PLOT_H * (1 - Math.min(1, Math.max(0, v)));
  const drawn = series.flatMap((p, i) => (p.value === null ? [] : [{ x: xOf(i), y: yOf(p.value), p }]));
  const line =
    drawn.length >= 2
      ? `<polyline class="series" data-points="${drawn.length}" fill="none" points="${drawn
          .map((d) => `${fmt(d.x)},${fmt(d.y)}`)
          .join(' ')}"/>`
      : '';
  const dots = drawn
    .map(
      (d) =>
        `<circle class="dot" cx="${fmt(d.x)}" cy="${fmt(d.y)}" r="3"><title>${escapeHtml(
          `${d.p.label}: ${percent(d.p.value)}`,
        )}</title></circle>`,
    )
    .join('');
  const first = series[0];
  const last = series.at(-1);
  const xLabels =
    first && last
      ? `<text class="tick" x="${PAD.left}" y="${HEIGHT - 8}">${escapeHtml(first.label)}</text>` +
        (n > 1
          ? `<text class="tick" x="${PAD.left + PLOT_W}" y="${HEIGHT - 8}" text-anchor="end">${escapeHtml(last.label)}</text>`
          : '')
      : '';
  const empty =
    drawn.length === 0
      ? `<text class="empty" x="${PAD.left + PLOT_W / 2}" y="${PAD.top + PLOT_H / 2}" text-anchor="middle">no values</text>`
      : '';
  return frame(title, yGrid(1, tick) + line + dots + xLabels + empty, 'line-chart');
}

/**
 * The risk–coverage curve: for each threshold (a distinct confidence, highest first), the share of questions served
 * (x) against the share of served answers that are wrong (y). The operating point (the tenant's threshold) is ringed.
 */
export function riskCoverageChart(title: string, curve: RiskCoveragePoint[], threshold: number | null): string {
  const maxRisk = Math.max(0.1, Math.ceil(Math.max(0, ...curve.map((p) => p.risk)) * 10) / 10);
  const xOf = (c: number): number => PAD.left + PLOT_W * c;
  const yOf = (r: number): number => PAD.top + PLOT_H * (1 - r / maxRisk);
  const line =
    curve.length >= 1
      ? `<polyline class="series" data-points="${curve.length}" fill="none" points="${curve
          .map((p) => `${fmt(xOf(p.coverage))},${fmt(yOf(p.risk))}`)
          .join(' ')}"/>`
      : '';
  const dots = curve
    .map(
      (p) =>
        `<circle class="dot" cx="${fmt(xOf(p.coverage))}" cy="${fmt(yOf(p.risk))}" r="2.5"><title>${escapeHtml(
          `threshold ${p.confidence.toFixed(3)}: coverage ${percent(p.coverage)}, risk ${percent(p.risk)}`,
        )}</title></circle>`,
    )
    .join('');
  // The tenant's threshold serves every answer at or above it: the last point whose confidence reaches it.
  const operating = threshold === null ? undefined : curve.filter((p) => p.confidence >= threshold).at(-1);
  const ring = operating
    ? `<circle class="operating" cx="${fmt(xOf(operating.coverage))}" cy="${fmt(yOf(operating.risk))}" r="6" fill="none"><title>${escapeHtml(
        `the tenant's threshold ${threshold?.toFixed(3) ?? ''}: coverage ${percent(operating.coverage)}, risk ${percent(operating.risk)}`,
      )}</title></circle>`
    : '';
  const xAxis = [0, 0.5, 1]
    .map(
      (f) =>
        `<text class="tick" x="${fmt(xOf(f))}" y="${HEIGHT - 16}" text-anchor="${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}">${escapeHtml(tick(f))}</text>`,
    )
    .join('');
  const xTitle = `<text class="axis" x="${PAD.left + PLOT_W / 2}" y="${HEIGHT - 3}" text-anchor="middle">coverage (share served)</text>`;
  const empty =
    curve.length === 0
      ? `<text class="empty" x="${PAD.left + PLOT_W / 2}" y="${PAD.top + PLOT_H / 2}" text-anchor="middle">no outcomes recorded</text>`
      : '';
  return frame(title, yGrid(maxRisk, tick) + line + dots + ring + xAxis + xTitle + empty, 'risk-coverage');
}
