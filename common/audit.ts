// The audit trail: who did what, to which id, when. Append-only JSONL per tenant and month
// (<dataDir>/audit/<tenant>/<yyyy-mm>.jsonl), fsync'd, each line carrying the SHA-256 of the line before it (a hash
// chain that `verify` walks). Entries hold ids, codes, roles, counts and numbers only: never document text,
// questions, answers or file contents, which is why `details` takes allow-listed keys and id-shaped strings.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GroundworkError } from './errors';
import { TENANT_ID_PATTERN } from './ids';

export const AUDIT_ACTIONS = [
  'document.ingest',
  'document.delete',
  'tenant.purge',
  'key.create',
  'key.revoke',
  'review.claim',
  'review.release',
  'review.decide',
  'evaluation.schedule',
  'evaluation.unschedule',
  'evaluation.run',
  'budget.set',
  'model.pii',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_ACTOR_KINDS = ['key', 'jwt', 'operator', 'system'] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];

export interface AuditActor {
  kind: AuditActorKind;
  /** The credential id (`key:<keyId>`, `jwt:<issuer>:<subject>`), the operator's OS user name, or a component name. */
  id: string;
  /** The key's name, the token's subject. */
  name?: string;
}

export interface AuditTarget {
  /** What the id names: document, tenant, key, review, schedule, workflow, budget. */
  kind: string;
  id: string;
}

export type AuditOutcome = 'ok' | 'refused';
export type AuditDetails = Record<string, string | number | boolean>;

/**
 * The only keys `details` may carry. Everything here is an id, a code, a role, a count or a number: adding a key is
 * a decision that its values can never be tenant text.
 */
export const AUDIT_DETAIL_KEYS = [
  // who and how
  'role',
  'keyName',
  'keyTenant',
  'decision',
  'code',
  'status',
  'httpStatus',
  'reason',
  'via',
  'reviewer',
  'sourceKind',
  // Temporal ids
  'workflowId',
  'runId',
  'scheduleId',
  'taskId',
  'documentId',
  'answerRunKey',
  // evaluation schedules and runs
  'every',
  'trigger',
  'setBaseline',
  'questions',
  // counts and sizes
  'count',
  'documents',
  'chunks',
  'bytes',
  'pages',
  'edited',
  'claims',
  'points',
  'blobs',
  'staged',
  'evaluations',
  'reviewTasks',
  'schedule',
  'renewed',
  'released',
  'expiresAt',
  // budgets
  'budget',
  // PII found in an outgoing model request: the policy, the model, and counts by type (never values)
  'policy',
  'model',
  'email',
  'phone',
  'iban',
  'card',
  'ssn',
  'ip',
  'limit',
  'previousLimit',
  'period',
  'unit',
  'currency',
  'scope',
  'tokens',
  'previousTokens',
  'usd',
  'previousUsd',
  'dailyTokens',
  'monthlyTokens',
  'dailyUsd',
  'monthlyUsd',
  'hardLimit',
  'softLimit',
  'enabled',
] as const;
export type AuditDetailKey = (typeof AUDIT_DETAIL_KEYS)[number];
const DETAIL_KEYS: ReadonlySet<string> = new Set(AUDIT_DETAIL_KEYS);

/** Keys for all tenants ('*') are audited under this name, which no tenant id can take (ids start with a letter or digit). */
export const AUDIT_ALL_TENANTS = '_all-tenants';

/**
 * Id-shaped strings: letters, digits, marks and a few separators, no whitespace. A sentence of tenant text cannot
 * pass, whatever key it is put under.
 */
const ID_SHAPED = /^[\p{L}\p{N}\p{M}_.@~:*/+=,#-]{0,256}$/u;
const NAME_SHAPED = /^[\p{L}\p{N}\p{M}_.@~:*/+=#-]{1,256}$/u;
const MAX_LINE_BYTES = 16 * 1024;
const GENESIS = '0'.repeat(64);
const MONTH_FILE = /^(\d{4})-(\d{2})\.jsonl$/;

export interface AuditEntryInput {
  tenantId: string;
  actor: AuditActor;
  action: AuditAction;
  target?: AuditTarget;
  outcome?: AuditOutcome;
  details?: AuditDetails;
}

export interface AuditEntry {
  seq: number;
  at: string;
  tenantId: string;
  actor: AuditActor;
  action: AuditAction;
  target?: AuditTarget;
  outcome: AuditOutcome;
  details?: AuditDetails;
  /** SHA-256 (hex) of the previous line's bytes; 64 zeros for the first entry of a tenant. */
  prev: string;
}

export interface AuditQuery {
  /** ISO time (anything Date.parse accepts) or an age such as 7d; inclusive. */
  from?: string | Date;
  /** Exclusive. */
  to?: string | Date;
  action?: AuditAction;
  actorId?: string;
  /** 1-1000, default 100. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface AuditPage {
  /** Oldest first. */
  entries: AuditEntry[];
  /** Present when more entries may match: pass it as `cursor`. */
  nextCursor?: string;
}

export type AuditVerification =
  | { ok: true; entries: number; files: number; head: string }
  | {
      ok: false;
      entries: number;
      files: number;
      /** The first line that breaks the chain: its file (yyyy-mm.jsonl), 1-based line number and why. */
      broken: { file: string; line: number; seq?: number; reason: 'unparseable' | 'hash_mismatch' | 'seq_gap' };
    };

export class AuditError extends GroundworkError {
  override readonly name = 'AuditError';
}

const invalid = (message: string): AuditError => new AuditError('INVALID_AUDIT_ENTRY', message);

/** The audit directory name for a tenant id or '*'. */
export function auditTenantDir(tenantId: string): string {
  if (tenantId === '*' || tenantId === AUDIT_ALL_TENANTS) return AUDIT_ALL_TENANTS;
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new AuditError('INVALID_TENANT', 'The tenant id is not valid.');
  return tenantId;
}

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

function checkName(label: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || !NAME_SHAPED.test(value))
    throw invalid(`The audit ${label} must be 1-256 id-shaped characters without spaces.`);
}

/** Refuses anything that is not an id, a code or a number: the guard that keeps tenant text out of the log. */
export function validateAuditEntry(input: AuditEntryInput): void {
  auditTenantDir(input.tenantId);
  if (!(AUDIT_ACTIONS as readonly string[]).includes(input.action))
    throw invalid(`The audit action must be one of ${AUDIT_ACTIONS.join(', ')}.`);
  if (!input.actor || !(AUDIT_ACTOR_KINDS as readonly string[]).includes(input.actor.kind))
    throw invalid(`The audit actor kind must be one of ${AUDIT_ACTOR_KINDS.join(', ')}.`);
  checkName('actor id', input.actor.id, true);
  checkName('actor name', input.actor.name, false);
  if (input.target !== undefined) {
    checkName('target kind', input.target.kind, true);
    checkName('target id', input.target.id, true);
  }
  if (input.outcome !== undefined && input.outcome !== 'ok' && input.outcome !== 'refused')
    throw invalid('The audit outcome must be ok or refused.');
  if (input.details !== undefined) {
    if (typeof input.details !== 'object' || input.details === null || Array.isArray(input.details))
      throw invalid('Audit details must be an object.');
    for (const [key, value] of Object.entries(input.details)) {
      if (!DETAIL_KEYS.has(key)) throw invalid(`The audit detail key "${key}" is not allowed.`);
      if (
        typeof value === 'number'
          ? !Number.isFinite(value)
          : typeof value === 'string'
            ? !ID_SHAPED.test(value)
            : typeof value !== 'boolean'
      )
        throw invalid(`The audit detail "${key}" must be a finite number, a boolean or an id-shaped string.`);
    }
  }
}

function monthOf(iso: string): string {
  return iso.slice(0, 7);
}

const RELATIVE = /^(\d{1,6})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A time as the CLI and the API take it: an ISO date (or anything Date.parse reads), or an age such as 30m, 12h, 7d. */
export function parseAuditTime(value: string, now = Date.now()): number {
  const rel = RELATIVE.exec(value.trim());
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
  return Date.parse(value);
}

function toTime(value: string | Date | undefined, label: string): number | undefined {
  if (value === undefined) return undefined;
  const t = value instanceof Date ? value.getTime() : parseAuditTime(value);
  if (!Number.isFinite(t)) throw new AuditError('INVALID_INPUT', `The ${label} time is not a valid date.`);
  return t;
}

/** A line that parses as an entry; undefined for a damaged one. */
function parseLine(line: string): AuditEntry | undefined {
  try {
    const v = JSON.parse(line) as Partial<AuditEntry>;
    if (typeof v !== 'object' || v === null || typeof v.seq !== 'number' || typeof v.at !== 'string') return undefined;
    if (typeof v.prev !== 'string' || typeof v.action !== 'string') return undefined;
    return v as AuditEntry;
  } catch {
    return undefined;
  }
}

function splitLines(raw: string): string[] {
  const lines = raw.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An id as the log can hold it: characters outside the id shape become "_", at most 256. For ids the caller chose
 * (a task id in a URL), so a refusal can still be recorded.
 */
export function auditSafeId(value: string): string {
  return [...value.replace(/[^\p{L}\p{N}\p{M}_.@~:*/+=#-]/gu, '_')].slice(0, 256).join('') || '_';
}

/** Who the CLI records as the actor: the OS user name. */
export function operatorActor(): AuditActor {
  let name = 'operator';
  try {
    name = os.userInfo().username || name;
  } catch {
    // no passwd entry (some containers): the generic name
  }
  return { kind: 'operator', id: auditSafeId(name) };
}

/**
 * Per tenant directory (absolute path): the tail of this process's append queue. Module-wide, so every AuditLog
 * instance over the same directory (a route may make its own) serializes with the others.
 */
const queues = new Map<string, Promise<unknown>>();

export class AuditLog {
  /** How long a lock file may live before another process takes it over (its holder died). */
  static lockStaleMs = 10_000;

  constructor(readonly dir: string) {}

  static forDataDir(dataDir: string): AuditLog {
    return new AuditLog(path.join(dataDir, 'audit'));
  }

  /**
   * Appends one entry and returns it as stored. Appends in this process run one at a time; across processes a lock
   * file guards the read-tail-then-write step so the chain has no forks, and the line itself is one O_APPEND write.
   */
  async append(input: AuditEntryInput): Promise<AuditEntry> {
    validateAuditEntry(input);
    const tenantDir = auditTenantDir(input.tenantId);
    const queueKey = path.resolve(this.dir, tenantDir);
    const previous = queues.get(queueKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.appendLocked(tenantDir, input));
    queues.set(queueKey, run);
    try {
      return await run;
    } finally {
      if (queues.get(queueKey) === run) queues.delete(queueKey);
    }
  }

  /** Entries of a tenant (or '*'), oldest first, filtered; pages with `limit` and `cursor`. */
  async query(tenantId: string, q: AuditQuery = {}): Promise<AuditPage> {
    const tenantDir = auditTenantDir(tenantId);
    const from = toTime(q.from, 'from');
    const to = toTime(q.to, 'to');
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new AuditError('INVALID_INPUT', 'The limit must be a whole number from 1 to 1000.');
    let after = 0;
    if (q.cursor !== undefined) {
      if (!/^\d{1,15}$/.test(q.cursor)) throw new AuditError('INVALID_INPUT', 'The cursor is not valid.');
      after = Number(q.cursor);
    }
    const fromMonth = from === undefined ? undefined : new Date(from).toISOString().slice(0, 7);
    const toMonth = to === undefined ? undefined : new Date(to).toISOString().slice(0, 7);
    const entries: AuditEntry[] = [];
    for (const file of await this.monthFiles(tenantDir)) {
      const month = file.slice(0, 7);
      if (fromMonth !== undefined && month < fromMonth) continue;
      if (toMonth !== undefined && month > toMonth) continue;
      for (const line of splitLines(await this.readFile(tenantDir, file))) {
        const entry = parseLine(line);
        if (!entry || entry.seq <= after) continue;
        const at = Date.parse(entry.at);
        if (from !== undefined && at < from) continue;
        if (to !== undefined && at >= to) continue;
        if (q.action !== undefined && entry.action !== q.action) continue;
        if (q.actorId !== undefined && entry.actor?.id !== q.actorId) continue;
        if (entries.length === limit) return { entries, nextCursor: String(entries.at(-1)?.seq ?? after) };
        entries.push(entry);
      }
    }
    return { entries };
  }

  /** Walks the tenant's chain from its first line and reports the first line that does not follow from the one before. */
  async verify(tenantId: string): Promise<AuditVerification> {
    const tenantDir = auditTenantDir(tenantId);
    const files = await this.monthFiles(tenantDir);
    let prevHash = GENESIS;
    let prevSeq = 0;
    let count = 0;
    for (const file of files) {
      const lines = splitLines(await this.readFile(tenantDir, file));
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as string;
        const entry = parseLine(line);
        const at = { file, line: i + 1 };
        if (!entry) return { ok: false, entries: count, files: files.length, broken: { ...at, reason: 'unparseable' } };
        if (entry.prev !== prevHash)
          return {
            ok: false,
            entries: count,
            files: files.length,
            broken: { ...at, seq: entry.seq, reason: 'hash_mismatch' },
          };
        if (entry.seq !== prevSeq + 1)
          return {
            ok: false,
            entries: count,
            files: files.length,
            broken: { ...at, seq: entry.seq, reason: 'seq_gap' },
          };
        prevHash = sha256Hex(line);
        prevSeq = entry.seq;
        count++;
      }
    }
    return { ok: true, entries: count, files: files.length, head: prevHash };
  }

  private async appendLocked(tenantDir: string, input: AuditEntryInput): Promise<AuditEntry> {
    const dir = path.join(this.dir, tenantDir);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const release = await this.lock(dir);
    try {
      const last = await this.lastLine(tenantDir);
      const lastEntry = last.line === undefined ? undefined : parseLine(last.line);
      const at = new Date().toISOString();
      const entry: AuditEntry = {
        seq: (lastEntry?.seq ?? 0) + 1,
        at,
        tenantId: tenantDir === AUDIT_ALL_TENANTS ? '*' : input.tenantId,
        actor: {
          kind: input.actor.kind,
          id: input.actor.id,
          ...(input.actor.name !== undefined ? { name: input.actor.name } : {}),
        },
        action: input.action,
        ...(input.target !== undefined ? { target: { kind: input.target.kind, id: input.target.id } } : {}),
        outcome: input.outcome ?? 'ok',
        ...(input.details !== undefined && Object.keys(input.details).length > 0
          ? { details: { ...input.details } }
          : {}),
        prev: last.line === undefined ? GENESIS : sha256Hex(last.line),
      };
      const line = JSON.stringify(entry);
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) throw invalid('The audit entry is too large.');
      const file = path.join(dir, `${monthOf(at)}.jsonl`);
      // A torn last line (a crash mid-write) is closed off first, in the same write, so the new entry is a line of its
      // own; verify reports the torn one.
      const prefix = last.tornFile === `${monthOf(at)}.jsonl` ? '\n' : '';
      const handle = await fs.open(file, 'a', 0o600);
      try {
        await handle.write(`${prefix}${line}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return entry;
    } finally {
      await release();
    }
  }

  /**
   * The last complete line of the tenant's chain (undefined for a new tenant), and the newest file when it ends in a
   * torn fragment (a crash mid-write): that fragment is not part of the chain.
   */
  private async lastLine(tenantDir: string): Promise<{ line?: string; tornFile?: string }> {
    const files = await this.monthFiles(tenantDir);
    let tornFile: string | undefined;
    let newest = true;
    for (let i = files.length - 1; i >= 0; i--) {
      const file = files[i] as string;
      const handle = await fs.open(path.join(this.dir, tenantDir, file), 'r');
      try {
        const { size } = await handle.stat();
        if (size === 0) continue;
        const length = Math.min(size, MAX_LINE_BYTES * 2 + 2);
        const buf = Buffer.alloc(length);
        await handle.read(buf, 0, length, size - length);
        const text = buf.toString('utf8');
        if (newest && !text.endsWith('\n')) tornFile = file;
        newest = false;
        const complete = text.slice(0, text.lastIndexOf('\n')); // without the final newline and any torn fragment
        if (complete === '' && length === size) {
          if (text.startsWith('\n')) return { line: '', ...(tornFile ? { tornFile } : {}) };
          continue; // only a fragment here: the chain ends in an older file
        }
        const start = complete.lastIndexOf('\n');
        if (start < 0 && length < size)
          throw new AuditError('AUDIT_DAMAGED', 'The audit log has a line that is too long.');
        return { line: complete.slice(start + 1), ...(tornFile ? { tornFile } : {}) };
      } finally {
        await handle.close();
      }
    }
    return tornFile ? { tornFile } : {};
  }

  private async monthFiles(tenantDir: string): Promise<string[]> {
    const names = await fs.readdir(path.join(this.dir, tenantDir)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    return names.filter((n) => MONTH_FILE.test(n)).sort();
  }

  private async readFile(tenantDir: string, file: string): Promise<string> {
    return fs.readFile(path.join(this.dir, tenantDir, file), 'utf8');
  }

  /** An exclusive lock file per tenant directory, shared by every process on the host; a dead holder's lock goes stale. */
  private async lock(dir: string): Promise<() => Promise<void>> {
    const lockFile = path.join(dir, '.lock');
    const token = `${process.pid}:${randomBytes(6).toString('hex')}`;
    const deadline = Date.now() + AuditLog.lockStaleMs * 3;
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(lockFile, token, { flag: 'wx', mode: 0o600 });
        return async () => {
          const held = await fs.readFile(lockFile, 'utf8').catch(() => undefined);
          if (held === token) await fs.rm(lockFile, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const stat = await fs.stat(lockFile).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs > AuditLog.lockStaleMs) {
        await fs.rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new AuditError('AUDIT_BUSY', 'The audit log is locked by another process.', { retryable: true });
      await sleep(Math.min(50, 2 + attempt * 2) + Math.random() * 5);
    }
  }
}
