// Default resource limits for parsing untrusted files, and the one place that merges caller overrides into them.
import { IngestError } from './errors';
import type { IngestLimits } from './types';

const MB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<IngestLimits> = Object.freeze({
  maxBytes: 50 * MB,
  maxPages: 2000,
  maxCells: 2_000_000,
  maxDecompressedBytes: 500 * MB,
  timeoutMs: 120_000,
  maxMemoryMb: 1024,
});

/**
 * Defaults overlaid with the caller's values. A limit that is not a positive finite number is a programming error
 * (a limit of NaN would silently disable the check), so it is rejected rather than ignored.
 */
export function resolveLimits(overrides: Partial<IngestLimits> | undefined): IngestLimits {
  const limits: IngestLimits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof IngestLimits)[]) {
    const value = overrides?.[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`Ingest limit ${key} must be a positive number.`);
    }
    limits[key] = value;
  }
  return limits;
}

/** "50 MB" style label for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${Math.round((bytes / MB) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** Throws FILE_TOO_LARGE / EMPTY_FILE; the size check comes first so an oversized file costs nothing else. */
export function checkSize(byteLength: number, limits: IngestLimits): void {
  if (byteLength > limits.maxBytes) {
    throw new IngestError(
      'FILE_TOO_LARGE',
      `The file is ${formatBytes(byteLength)}; the limit is ${formatBytes(limits.maxBytes)}.`,
    );
  }
  if (byteLength === 0) throw new IngestError('EMPTY_FILE', 'The file is empty.');
}
