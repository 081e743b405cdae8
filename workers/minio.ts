// A real MinIO server (S3-compatible) for the object-store tests and the dev stack: the pinned server module is built
// from the Go module proxy into the git-ignored .tools/ folder on first use (`go install`), then started on free
// loopback ports with random root credentials and its storage in a temp folder.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './dev-server';
import { TOOLS_DIR, works } from './python-tools';

export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

/** Where the pinned build lives once installed: .tools/minio/<version>/minio. */
export const MINIO_BIN = path.join(TOOLS_DIR, 'minio', MINIO_VERSION, 'minio');

/** True when a Go toolchain is on PATH (what building MinIO needs). */
export const goAvailable = (): boolean => works('go', ['version']);

/**
 * The MinIO server binary: the installed one, or built now with `go install` (minutes the first time; the Go module
 * and build caches make later builds fast). Undefined, with the reason logged, when Go is absent or the build fails.
 */
export function installMinio(log: (msg: string) => void = () => undefined): string | undefined {
  if (existsSync(MINIO_BIN)) return MINIO_BIN;
  if (!goAvailable()) {
    log('go is not on PATH: cannot build the MinIO server');
    return undefined;
  }
  const target = path.dirname(MINIO_BIN);
  log(`building ${MINIO_MODULE}@${MINIO_VERSION} into .tools/minio with go install (one time; takes minutes)`);
  mkdirSync(path.dirname(target), { recursive: true });
  // Built into a temporary folder and renamed into place, so an interrupted build never looks complete.
  const staging = `${target}.installing-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const r = spawnSync('go', ['install', `${MINIO_MODULE}@${MINIO_VERSION}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30 * 60_000,
    env: { ...process.env, GOBIN: staging },
  });
  if (r.status !== 0 || !existsSync(path.join(staging, 'minio'))) {
    rmSync(staging, { recursive: true, force: true });
    const why = r.error
      ? r.error.message
      : String(r.stderr ?? '')
          .split('\n')
          .filter((l) => l.trim())
          .slice(-3)
          .join(' ')
          .trim();
    log(`go install of the MinIO server failed: ${why || `exit status ${String(r.status)}`}`);
    return undefined;
  }
  try {
    renameSync(staging, target);
  } catch {
    // Another process finished the same install first: keep theirs.
    rmSync(staging, { recursive: true, force: true });
  }
  return existsSync(MINIO_BIN) ? MINIO_BIN : undefined;
}

export interface MinioServer {
  /** http://127.0.0.1:<port>: the S3 API. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  pid: number;
  /** Stops the server and removes its storage (unless it was the caller's own dataDir). */
  stop(): Promise<void>;
}

export interface StartMinioOptions {
  /** The MinIO binary; default: installMinio(). */
  binary?: string;
  /** Keep objects here; default a temp folder removed on stop. */
  dataDir?: string;
  log?: (msg: string) => void;
  /** How long to wait for the health check; default 60 s. */
  readyTimeoutMs?: number;
}

/** Starts MinIO on free loopback ports with random root credentials and waits until it is live. */
export async function startMinio(options: StartMinioOptions = {}): Promise<MinioServer> {
  const log = options.log ?? (() => undefined);
  const binary = options.binary ?? installMinio(log);
  if (!binary) throw new Error('The MinIO server is not installed and could not be built (see the log above).');
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'groundwork-minio-'));
  mkdirSync(dataDir, { recursive: true });
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKeyId = `gw${randomBytes(9).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const child = spawn(
    binary,
    ['server', dataDir, '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`],
    {
      stdio: 'ignore',
      env: {
        ...process.env,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
      },
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    const status = (p: string): Promise<number> =>
      fetch(`${endpoint}${p}`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status,
        () => 0,
      );
    // Live first; then the S3 API itself, which answers 503 (server not initialized) for a moment after that while
    // its credentials load. An anonymous request is refused (403) once it is ready.
    if ((await status('/minio/health/live')) === 200 && ![0, 503].includes(await status('/')))
      return { endpoint, accessKeyId, secretAccessKey, pid: child.pid ?? -1, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`The MinIO server at ${binary} did not become live.`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// `npx tsx workers/minio.ts install`: pre-installs the server (CI), printing its path; exits 0 without Go, saying why.
if (require.main === module) {
  const [command] = process.argv.slice(2);
  if (command !== 'install') {
    process.stderr.write('usage: tsx workers/minio.ts install\n');
    process.exit(2);
  }
  const started = Date.now();
  const bin = installMinio((msg) => process.stderr.write(`[minio] ${msg}\n`));
  if (bin) {
    process.stderr.write(`[minio] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    process.stdout.write(`${bin}\n`);
  } else process.stdout.write('MinIO not installed: skipped (see the reason above)\n');
}
