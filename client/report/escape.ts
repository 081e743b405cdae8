// Every piece of text that enters a report goes through here: tenant questions and ids are data, never markup.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or an attribute value, escaped for HTML and SVG (both quote styles, so it is safe in any attribute). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A share as a percentage with one decimal, or an em dash when the metric does not apply. */
export function percent(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : '—';
}

/** A signed difference of shares in percentage points. */
export function points(delta: number | null): string {
  if (delta === null || !Number.isFinite(delta)) return '—';
  const pp = delta * 100;
  const sign = pp > 0.05 ? '+' : pp < -0.05 ? '−' : '±';
  return `${sign}${Math.abs(pp).toFixed(1)} pp`;
}
