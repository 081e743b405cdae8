// Starts and stops the local Temporal dev server (the official CLI, never a fake) with Groundwork's
// search attributes registered.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions';
import { resolveTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  port?: number; // 0 or undefined: a free port
  uiPort?: number | null; // undefined: a free port; null: headless
  ip?: string;
  /** Persist state in this SQLite file; in-memory when absent. */
  dbFile?: string;
  /** Where the server's own output goes; ignored when absent. */
  logFile?: string;
  cliPath?: string;
  log?: (msg: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, ip, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a Temporal frontend answers at `address` within the timeout. */
export async function isTemporalReachable(address: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === null ? undefined : options.uiPort || (await freePort(ip));
  const cli = resolveTemporalCli({ cliPath: options.cliPath, log: options.log });
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  if (uiPort) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const key of SEARCH_ATTRIBUTE_KEYS)
    args.push('--search-attribute', `${key.name}=${searchAttributeCliType(key.type)}`);
  // Task queue fairness: ingestion tasks carry their tenant as fairness key, so one tenant's backlog cannot starve
  // another's (priority, which puts single uploads before batch documents, is on by default).
  args.push('--dynamic-config-value', 'matching.enableFairness=true');

  let out: number | 'ignore' = 'ignore';
  if (options.logFile) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    out = openSync(options.logFile, 'a');
  }
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', out, out], detached: false });
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const address = `${ip}:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await isTemporalReachable(address, 1000))) {
    if (exited !== null) throw new Error(`The Temporal dev server exited during start-up (code ${exited}).`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('The Temporal dev server did not become ready within 60 seconds.');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await waitForSearchAttributes(address);

  return {
    address,
    uiUrl: uiPort ? `http://${ip}:${uiPort}` : undefined,
    pid: child.pid ?? -1,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

function searchAttributeCliType(type: string): string {
  const map: Record<string, string> = {
    KEYWORD: 'Keyword',
    TEXT: 'Text',
    BOOL: 'Bool',
    INT: 'Int',
    DOUBLE: 'Double',
    DATETIME: 'Datetime',
    KEYWORD_LIST: 'KeywordList',
  };
  const t = map[type.toUpperCase()];
  if (!t) throw new Error(`Unsupported search attribute type ${type}`);
  return t;
}

/** The dev server registers search attributes asynchronously; visibility queries fail until it has. */
async function waitForSearchAttributes(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const names = Object.keys(res.customAttributes ?? {});
      if (SEARCH_ATTRIBUTE_KEYS.every((k) => names.includes(k.name))) return;
      if (Date.now() > deadline) throw new Error('Search attributes were not registered on the dev server.');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await connection.close();
  }
}
