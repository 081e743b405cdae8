// `npm run bench:load -- [--asks N] [--concurrency C] [--ingests M] [--repeat R] [--json]`: load on the HTTP API of a
// real stack. --repeat asks R of the questions again, one at a time, after the load: answers served from the cache.
// It starts a dev server, a worker and the HTTP API (in this process, a scratch data dir), ingests the sample
// documents of one tenant, then: M ingestions of small Markdown documents through POST …/documents (uploads) and N
// distinct questions through POST …/questions?wait=true (escalate: false, so no answer waits for a reviewer), C at a
// time. Prints throughput, p50/p95/p99 latency, failures, and the CPU seconds of this process (HTTP API, worker,
// client) and of the dev server. A benchmark, not a test: the figures go to the README.
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalAdminKey } from '../client/cli-keys';
import { GroundworkClient } from '../client/groundwork-client';
import { startHttpApi } from '../client/http';
import { loadConfig } from '../common/config';
import { freePort } from '../workers/dev-server';
import { installLogging } from '../workers/logging';
import { startLocalStack } from '../workers/local-stack';

const args = process.argv.slice(2);
const num = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number`);
  return v;
};
const asks = num('asks', 200);
const concurrency = Math.max(1, num('concurrency', 20));
const ingests = num('ingests', 0);
const repeat = num('repeat', 0);
const json = args.includes('--json');
const TENANT = 'bench';
const QUESTIONS = [
  'How many vacation days do full-time employees receive?',
  'What was the EMEA revenue in Q2?',
  'When can unused vacation days be carried over?',
  'How often are laptops replaced?',
  'When is the IT help desk open?',
];

/** utime + stime of a process in seconds, from /proc (Linux); undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) : 0;
};

/** Runs `count` jobs, `parallel` at a time; returns each job's latency in ms and how many failed. */
async function drive(count: number, parallel: number, job: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        try {
          await job(i);
          latencies.push(performance.now() - t);
        } catch {
          failed += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    count,
    concurrency: parallel,
    failed,
    seconds: r(seconds),
    perSecond: r((count - failed) / seconds),
    p50Ms: r(percentile(latencies, 50)),
    p95Ms: r(percentile(latencies, 95)),
    p99Ms: r(percentile(latencies, 99)),
  };
}

async function main(): Promise<void> {
  installLogging('warn');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-bench-load-'));
  const config = loadConfig({
    ...process.env,
    GROUNDWORK_DATA_DIR: dataDir,
    GROUNDWORK_RATE_LIMIT: '100000',
    GROUNDWORK_RATE_BURST: '100000',
    // A scratch stack: its worker's metrics on any free port, so a running `groundwork dev` does not stop it.
    GROUNDWORK_METRICS_PORT: process.env.GROUNDWORK_METRICS_PORT ?? '0',
  });
  const stack = await startLocalStack(config, { uiPort: await freePort() });
  const api = await startHttpApi(stack.config, { port: await freePort() });
  const client = await GroundworkClient.fromConfig(stack.config);
  const { key } = await createLocalAdminKey(dataDir);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  try {
    const files = await GroundworkClient.collectFiles([path.resolve(__dirname, '..', 'samples', 'acme')]);
    await client.ingestBatch(TENANT, await client.uploadFiles(TENANT, files), 3);
    const ingest =
      ingests > 0
        ? await drive(ingests, concurrency, async (i) => {
            const form = new FormData();
            const text = `# Note ${i}\n\nMeeting room ${i} seats ${(i % 12) + 2} people and has a screen.\n`;
            form.append('file', new Blob([text], { type: 'text/markdown' }), `note-${i}.md`);
            const res = await fetch(`${api.url}/v1/tenants/${TENANT}/documents?wait=true`, {
              method: 'POST',
              headers: { authorization: headers.authorization },
              body: form,
            });
            if (!res.ok) throw new Error(`ingest ${res.status}`);
            await res.arrayBuffer();
          })
        : undefined;
    const cpu0 = process.cpuUsage();
    const server0 = cpuSecondsOf(stack.serverPid);
    const ask = await drive(asks, concurrency, async (i) => {
      const question = `${QUESTIONS[i % QUESTIONS.length]} (${i})`;
      const res = await fetch(`${api.url}/v1/tenants/${TENANT}/questions?wait=true`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ question, escalate: false }),
      });
      const body = (await res.json()) as { status?: string };
      if (!res.ok || !body.status) throw new Error(`ask ${res.status}`);
    });
    const cpu = process.cpuUsage(cpu0);
    const server1 = cpuSecondsOf(stack.serverPid);
    // The same questions again, one at a time: the ones served the first time come from the answer cache.
    let hits = 0;
    const cachedMs: number[] = [];
    const again =
      repeat > 0
        ? await drive(Math.min(repeat, asks), 1, async (i) => {
            const question = `${QUESTIONS[i % QUESTIONS.length]} (${i})`;
            const t = performance.now();
            const res = await fetch(`${api.url}/v1/tenants/${TENANT}/questions?wait=true`, {
              method: 'POST',
              headers,
              body: JSON.stringify({ question, escalate: false }),
            });
            const body = (await res.json()) as { status?: string; cached?: boolean };
            if (!res.ok || !body.status) throw new Error(`ask ${res.status}`);
            if (body.cached) {
              hits += 1;
              cachedMs.push(performance.now() - t);
            }
          })
        : undefined;
    const report = {
      asks: ask,
      ingests: ingest,
      cpuSeconds: {
        workerAndApi: Math.round((cpu.user + cpu.system) / 1e4) / 100,
        devServer: server0 !== undefined && server1 !== undefined ? Math.round((server1 - server0) * 100) / 100 : null,
      },
      cores: os.cpus().length,
      ...(again
        ? {
            repeated: {
              ...again,
              cachedHits: hits,
              cachedP50Ms: Math.round(percentile(cachedMs, 50) * 10) / 10,
              cachedP95Ms: Math.round(percentile(cachedMs, 95) * 10) / 10,
            },
          }
        : {}),
    };
    if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const line = (name: string, r: typeof ask) =>
        `${name}: ${r.count} at concurrency ${r.concurrency}: ${r.perSecond}/s, p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms, ${r.failed} failed (${r.seconds} s)`;
      if (ingest) process.stdout.write(`${line('ingestions', ingest)}\n`);
      process.stdout.write(`${line('asks', ask)}\n`);
      if (again && report.repeated)
        process.stdout.write(
          `asked again: ${again.count} one at a time, ${hits} served from the cache: p50 ${report.repeated.cachedP50Ms} ms, p95 ${report.repeated.cachedP95Ms} ms\n`,
        );
      process.stdout.write(
        `CPU during the asks: worker + HTTP API ${report.cpuSeconds.workerAndApi} s, dev server ${report.cpuSeconds.devServer ?? 'n/a'} s (${report.cores} cores)\n`,
      );
    }
  } finally {
    await api.close();
    await client.close();
    await stack.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
