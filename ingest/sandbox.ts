// How the parse child is started: which code it runs (the compiled child.js, or a bundle of the TypeScript sources)
// and the Node permission model it runs under (reads limited to its job folder, its code and its parser's packages;
// writes to its job folder only; no child processes; addons only where PDF rendering needs them).
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExtractJob } from './isolate';

type Format = ExtractJob['sniffed']['format'];

/**
 * The launch profiles: formats whose children get the same grants. A child is started for a profile (it can be
 * started before its job is known, see isolate.ts), so each profile grants exactly what its formats needed before:
 * PDF its parser packages and addons, spreadsheets and CSV xlsx, text none. Nothing is widened by grouping.
 */
export type LaunchProfile = 'pdf' | 'sheet' | 'text';

const PROFILE_OF: Record<Format, LaunchProfile> = {
  pdf: 'pdf',
  xlsx: 'sheet',
  xlsm: 'sheet',
  xlsb: 'sheet',
  ods: 'sheet',
  xls: 'sheet',
  csv: 'sheet',
  text: 'text',
};

export function launchProfile(format: Format): LaunchProfile {
  return PROFILE_OF[format];
}

export function isLaunchProfile(value: unknown): value is LaunchProfile {
  return value === 'pdf' || value === 'sheet' || value === 'text';
}

/**
 * The packages each profile's parsers load (with their dependencies, found from their package.json files). The
 * tokenizer is there for every format: chunking runs in the child too. pdf-parse brings @napi-rs/canvas (pdf.js's
 * geometry classes and page rendering) and pdfjs-dist (see PACKAGE_DATA); tesseract.js brings tesseract.js-core (the
 * wasm engine); @tesseract.js-data/eng is the English model.
 */
const PARSER_PACKAGES: Record<LaunchProfile, string[]> = {
  pdf: ['pdf-parse', 'tesseract.js', '@tesseract.js-data/eng'],
  sheet: ['xlsx'],
  text: [],
};
const CHUNKING_PACKAGES = ['gpt-tokenizer'];

/**
 * Packages of which the child reads data, not code: only these entries of them are granted. pdf-parse bundles its
 * own pdf.js; from pdfjs-dist it takes the CMaps and standard fonts (pdf/index.ts pdfjsDataPaths, which finds them
 * through the package.json).
 */
const PACKAGE_DATA: Record<string, string[]> = {
  'pdfjs-dist': ['package.json', 'cmaps', 'standard_fonts'],
};

export interface ChildLaunch {
  modulePath: string;
  /** Node options of the child: the permission model and its grants (the caller adds the heap cap). */
  execArgv: string[];
}

/**
 * Where the child's code is and the options that confine it, for a child of `profile` whose one job's input and
 * output will live in `dir`.
 *
 * The permission model (Node 20: `--experimental-permission`, from Node 22: `--permission`) is what keeps a parser
 * that was subverted by its input from reading the worker's secrets (its environment through /proc/<ppid>/environ,
 * configuration files, other tenants' staged files) or starting programs. What it does not do, honestly:
 * - Network: Node 20's permission model has no network scope, so the child could still open sockets. Its environment
 *   carries no credentials and no proxy settings (isolate.ts childEnv), so there is nothing of ours to send with.
 * - Worker threads (`--allow-worker`, needed for the child's own guard thread and by tesseract.js): on Node 20 a
 *   worker started with an explicit `execArgv` that omits the permission flags runs without them. The child seals
 *   the Worker constructor before it reads any input (child.ts sealWorkerThreads) so that every thread runs under the
 *   same file permissions and can start no thread and load no addon of its own; that seal is JavaScript, not a
 *   boundary enforced by Node.
 * - Addons (`--allow-addons`, PDFs only: pdf-parse loads @napi-rs/canvas for pdf.js's geometry and page rendering):
 *   native code is not confined by the model; the child closes process.dlopen once canvas is loaded, before any
 *   input is parsed.
 * Node's own documentation calls the model a seat belt for trusted code rather than a sandbox for hostile code: it
 * is one layer among the others here (a child process, frozen intrinsics, limits, an environment without secrets).
 */
export async function prepareChild(profile: LaunchProfile, dir: string): Promise<ChildLaunch> {
  const { modulePath, codeDirs } = await childCode(dir);
  const reads = [dir, ...codeDirs, ...packageDirs([...CHUNKING_PACKAGES, ...PARSER_PACKAGES[profile]])];
  // pdf-parse loads canvas as it loads, for pdf.js's DOMMatrix and Path2D as much as for rendering: text extraction
  // fails without it (a ReferenceError), OCR or not.
  return { modulePath, execArgv: permissionArgs(reads, [dir], { addons: profile === 'pdf' }) };
}

/**
 * `--permission` from Node 22 (where it replaced `--experimental-permission`: 22.13 and later know it), else the
 * experimental flag of Node 20.
 */
export function permissionFlag(nodeVersion = process.versions.node): string {
  const major = Number(nodeVersion.split('.')[0]);
  return major >= 22 && process.allowedNodeEnvironmentFlags.has('--permission')
    ? '--permission'
    : '--experimental-permission';
}

function permissionArgs(reads: string[], writes: string[], grants: { addons: boolean }): string[] {
  // One flag per path: Node 20 reads a comma as part of the path.
  const args = [permissionFlag()];
  for (const p of withRealPaths(reads)) args.push(`--allow-fs-read=${p}`);
  for (const p of withRealPaths(writes)) args.push(`--allow-fs-write=${p}`);
  args.push('--allow-worker'); // the guard thread (child.ts startGuard) and tesseract.js; sealed in the child
  // A Node without an addon scope does not confine addons at all, and would refuse the unknown flag.
  if (grants.addons && process.allowedNodeEnvironmentFlags.has('--allow-addons')) args.push('--allow-addons');
  return args;
}

/** The model compares resolved paths; through a symlinked node_modules or tmp folder the real path is read too. */
function withRealPaths(paths: string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    out.add(p);
    try {
      out.add(realpathSync(p));
    } catch {
      // not there: nothing to allow
    }
  }
  return [...out];
}

// ---------- the child's code ----------

/** Built once per process from the TypeScript sources (see childCode); written into each job's folder. */
let bundled: string | undefined;

/**
 * The compiled child when running from dist/ (its folder and common/ are readable); from the TypeScript sources
 * (tsx, jest), a bundle of child.ts and everything it imports from this repository, written into the job folder.
 *
 * Decision: not `--require tsx/cjs` in the child, as before. tsx compiles with esbuild, which runs as a separate
 * program started from a worker thread: under the permission model that needs child processes (refused), and granting
 * them would hand the child a way around every other restriction. The bundle is made here, in the parent, by the same
 * esbuild (tsx's dependency), once per process; the child then loads plain JavaScript. Its bare imports
 * (pdf-parse, xlsx, ...) stay requires that resolve from this folder's node_modules, as they would from the sources.
 */
async function childCode(dir: string): Promise<{ modulePath: string; codeDirs: string[] }> {
  if (!__filename.endsWith('.ts')) {
    const root = path.dirname(__dirname);
    return { modulePath: path.join(__dirname, 'child.js'), codeDirs: [__dirname, path.join(root, 'common')] };
  }
  bundled ??= bundleChildSources();
  // Under an ingest/ folder, so that the child's command line names ingest/child.js from sources as from dist/
  // (tests and operators find parse children by it).
  const modulePath = path.join(dir, 'ingest', 'child.js');
  await mkdir(path.dirname(modulePath), { mode: 0o700 });
  await writeFile(modulePath, bundled, { mode: 0o600 });
  return { modulePath, codeDirs: [] };
}

interface EsbuildApi {
  buildSync(options: Record<string, unknown>): { outputFiles?: { text: string }[] };
}

function bundleChildSources(): string {
  const tsxDir = path.dirname(require.resolve('tsx/package.json'));
  const esbuild = require(require.resolve('esbuild', { paths: [tsxDir] })) as EsbuildApi;
  const result = esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'child.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    // `await import('tesseract.js')` becomes a require, as tsc compiles it for dist/: an ES import would resolve from
    // the bundle's folder and ignore the paths below.
    supported: { 'dynamic-import': false },
    // Packages resolve as they would from the sources, whatever folder the bundle is written to.
    banner: { js: `module.paths = ${JSON.stringify(nodeModulePaths(__dirname))};` },
  });
  const text = result.outputFiles?.[0]?.text;
  if (!text) throw new Error('esbuild produced no bundle for the parse child.');
  return text;
}

/** The node_modules folders Node searches from `dir`, nearest first. */
function nodeModulePaths(dir: string): string[] {
  const out: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (path.basename(at) !== 'node_modules') out.push(path.join(at, 'node_modules'));
    if (path.dirname(at) === at) return out;
  }
}

// ---------- the parser packages ----------

const packageDirCache = new Map<string, string[]>();

/**
 * The folders of `names` and of their dependencies (optional ones when installed), found as Node would: in the
 * nearest node_modules from this folder, then from each package's own folder for its dependencies. For the packages
 * in PACKAGE_DATA, only the entries listed there.
 */
export function packageDirs(names: string[]): string[] {
  const key = names.join('\0');
  const cached = packageDirCache.get(key);
  if (cached) return cached;
  const found = new Set<string>();
  const granted: string[] = [];
  const queue = names.map((name) => ({ name, from: __dirname }));
  for (let item = queue.shift(); item; item = queue.shift()) {
    const dir = findPackage(item.name, item.from);
    if (!dir || found.has(dir)) continue;
    found.add(dir);
    granted.push(...(PACKAGE_DATA[item.name]?.map((entry) => path.join(dir, entry)) ?? [dir]));
    const manifest = readManifest(dir);
    for (const dep of [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
    ])
      queue.push({ name: dep, from: dir });
  }
  packageDirCache.set(key, granted);
  return granted;
}

function findPackage(name: string, from: string): string | undefined {
  for (const modules of nodeModulePaths(from)) {
    const dir = path.join(modules, name);
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

function readManifest(dir: string): {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
} {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as ReturnType<typeof readManifest>;
  } catch {
    return {};
  }
}
