// One place to set how much the Temporal runtime (worker, bundler, activities) logs: LOG_LEVEL.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/common';

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

let installed = false;

/** Installs the runtime logger once per process; later calls are ignored. */
export function installLogging(fallback: 'info' | 'warn'): void {
  if (installed) return;
  installed = true;
  const level = LEVELS[(process.env.LOG_LEVEL ?? fallback).toLowerCase()] ?? LEVELS[fallback] ?? 'INFO';
  Runtime.install({ logger: new DefaultLogger(level) });
}
