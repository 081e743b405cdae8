// One place to set how much the Temporal runtime (worker, bundler, activities) logs: LOG_LEVEL.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogLevel, LogMetadata } from '@temporalio/common';

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

/**
 * The worker's parse queue (`<queue>-parse`) serves activities only, which the SDK reports at every start as a
 * warning ("No workflows registered"): by design here, so not shown.
 */
class GroundworkLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (message.startsWith('No workflows registered') && String(meta?.taskQueue ?? '').endsWith('-parse')) return;
    super.log(level, message, meta);
  }
}

let installed = false;

/** Installs the runtime logger once per process; later calls are ignored. */
export function installLogging(fallback: 'info' | 'warn'): void {
  if (installed) return;
  installed = true;
  const level = LEVELS[(process.env.LOG_LEVEL ?? fallback).toLowerCase()] ?? LEVELS[fallback] ?? 'INFO';
  Runtime.install({ logger: new GroundworkLogger(level) });
}
