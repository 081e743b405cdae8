// Secrets that an activity needs but workflow history must never hold (PDF passwords). The client writes the value
// here and passes only its reference, `secret:<id>`, in the workflow input; the activity reads it and removes it.
// Secrets live under <GROUNDWORK_DATA_DIR>/secrets: one file per secret (mode 0600, folder 0700), written atomically,
// with an expiry after which any store that writes sweeps it. With several worker hosts — or a client on another
// host than the workers — the data dir must be shared storage (as it already must be for staged chunks), or the
// activity on another host cannot find the secret.
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { GroundworkError } from './errors';
import type { ObjectStore } from './object-store';

const SECRET_REF = /^secret:([0-9a-f]{32})$/;
const FILE_SUFFIX = '.secret';
const FILE_NAME = /^[0-9a-f]{32}\.secret$/;
const TEMP_NAME = /^\.[0-9a-f]{32}\.[0-9a-f]{8}\.tmp$/;
/** Long enough for an ingestion to wait out a worker outage; a forgotten secret is gone after it. */
export const DEFAULT_SECRET_TTL_MS = 7 * 24 * 3_600_000;
/** An interrupted write's temp file is swept after this long. */
const TEMP_TTL_MS = 3_600_000;
/** A store sweeps expired secrets at most this often (on writes and reads). */
const SWEEP_INTERVAL_MS = 10 * 60_000;
const MAX_VALUE_CHARS = 16 * 1024;
const MAX_FILE_BYTES = 256 * 1024;

interface SecretFile {
  v: 1;
  expiresAt: number;
  scope?: string;
  value: string;
}

export interface SecretStoreOptions {
  /** Default lifetime of a secret; default 7 days. */
  ttlMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export interface PutSecretOptions {
  ttlMs?: number;
  /** Binds the secret to a use (e.g. one tenant's document): read() with another scope does not find it. */
  scope?: string;
}

export function isSecretRef(ref: unknown): ref is string {
  return typeof ref === 'string' && SECRET_REF.test(ref);
}

/** The scope a PDF password is stored under: only the ingestion of this tenant's document may read it. */
export function pdfPasswordScope(tenantId: string, documentId: string): string {
  return `pdf-password:${tenantId}/${documentId}`;
}

function notFound(): GroundworkError {
  return new GroundworkError(
    'SECRET_NOT_FOUND',
    'The secret is no longer available (already used, expired, or written to a data dir this worker does not share); start again with the password.',
  );
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** What the clients and activities need of a secret store: the local folder below, or the shared bucket. */
export interface Secrets {
  put(value: string, options?: PutSecretOptions): Promise<string>;
  read(ref: string, options?: { scope?: string }): Promise<string>;
  remove(ref: string): Promise<boolean>;
}

function idOf(ref: string): string {
  const m = typeof ref === 'string' ? SECRET_REF.exec(ref) : null;
  if (!m)
    throw new GroundworkError('SECRET_REF_INVALID', 'A secret reference must look like "secret:<32 hex digits>".');
  return m[1] as string;
}

/** A new secret's id and record (a value of at most MAX_VALUE_CHARS, else INVALID_INPUT). */
function newSecret(value: string, options: PutSecretOptions, expiresAt: number): { id: string; record: SecretFile } {
  if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS)
    throw new GroundworkError('INVALID_INPUT', `A secret must be a string of at most ${MAX_VALUE_CHARS} characters.`);
  const record: SecretFile = { v: 1, expiresAt, value };
  if (options.scope !== undefined) record.scope = options.scope;
  return { id: randomBytes(16).toString('hex'), record };
}

/** The common lifetime and sweep clock of both stores. */
abstract class SecretLifetimes {
  protected readonly ttlMs: number;
  protected readonly now: () => number;
  protected lastSweep = 0;

  constructor(options: SecretStoreOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  protected expiresAt(options: PutSecretOptions): number {
    return this.now() + (options.ttlMs ?? this.ttlMs);
  }

  abstract sweep(): Promise<number>;

  /** Sweeping is housekeeping: at most every SWEEP_INTERVAL_MS, and a failure must not stop the write. */
  protected async maybeSweep(): Promise<void> {
    if (this.now() - this.lastSweep < SWEEP_INTERVAL_MS) return;
    await this.sweep().catch(() => undefined);
  }
}

function parseRecord(text: string): SecretFile | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<SecretFile>;
    if (parsed.v === 1 && typeof parsed.value === 'string' && typeof parsed.expiresAt === 'number')
      return parsed as SecretFile;
  } catch {
    // Not JSON: treated as missing.
  }
  return undefined;
}

/**
 * Secrets as objects `<id>.secret` of the deployment's shared object store (S3_BUCKET), for deployments whose clients
 * and worker hosts share no disk. The bucket already holds the documents these passwords open, so it is the same
 * trust boundary; a secret is still single-use (the activity removes it), scoped, and expires.
 */
export class ObjectSecretStore extends SecretLifetimes implements Secrets {
  constructor(
    private readonly objects: ObjectStore,
    options: SecretStoreOptions = {},
  ) {
    super(options);
  }

  async put(value: string, options: PutSecretOptions = {}): Promise<string> {
    const { id, record } = newSecret(value, options, this.expiresAt(options));
    await this.maybeSweep();
    await this.objects.put(`${id}${FILE_SUFFIX}`, JSON.stringify(record));
    return `secret:${id}`;
  }

  async read(ref: string, options: { scope?: string } = {}): Promise<string> {
    const key = `${idOf(ref)}${FILE_SUFFIX}`;
    const raw = await this.objects.get(key, { maxBytes: MAX_FILE_BYTES }).catch(() => undefined);
    const record = raw === undefined ? undefined : parseRecord(raw.toString('utf8'));
    if (!record) throw notFound();
    if (record.expiresAt <= this.now()) {
      await this.objects.delete(key);
      throw notFound();
    }
    if (record.scope !== options.scope) throw notFound();
    return record.value;
  }

  async remove(ref: string): Promise<boolean> {
    return this.objects.delete(`${idOf(ref)}${FILE_SUFFIX}`);
  }

  /** Deletes expired (or unreadable) secrets; returns how many. */
  async sweep(): Promise<number> {
    this.lastSweep = this.now();
    let removed = 0;
    for (const key of await this.objects.list('')) {
      if (!FILE_NAME.test(key)) continue;
      const raw = await this.objects.get(key, { maxBytes: MAX_FILE_BYTES }).catch(() => undefined);
      const record = raw === undefined ? undefined : parseRecord(raw.toString('utf8'));
      if (!record || record.expiresAt <= this.now()) {
        if (await this.objects.delete(key)) removed += 1;
      }
    }
    return removed;
  }
}

export class SecretStore extends SecretLifetimes implements Secrets {
  constructor(
    readonly dir: string,
    options: SecretStoreOptions = {},
  ) {
    super(options);
  }

  /** The store of a data dir: `<dataDir>/secrets`. */
  static inDataDir(dataDir: string, options?: SecretStoreOptions): SecretStore {
    return new SecretStore(path.join(dataDir, 'secrets'), options);
  }

  /** Stores a value and returns its reference `secret:<id>` (128 random bits). */
  async put(value: string, options: PutSecretOptions = {}): Promise<string> {
    const { id, record } = newSecret(value, options, this.expiresAt(options));
    await this.ensureDir();
    await this.maybeSweep();
    const tmp = path.join(this.dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
    // Created 0600 and exclusively (never through an existing file or link), synced, then renamed into place:
    // a reader sees the whole secret or none.
    const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(JSON.stringify(record));
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await fs.rename(tmp, this.fileOf(id));
    return `secret:${id}`;
  }

  /** The value behind a reference; SECRET_NOT_FOUND when it is missing, expired or bound to another scope. */
  async read(ref: string, options: { scope?: string } = {}): Promise<string> {
    const file = this.fileOf(idOf(ref));
    const record = await this.load(file);
    if (!record) throw notFound();
    if (record.expiresAt <= this.now()) {
      await fs.rm(file, { force: true });
      throw notFound();
    }
    if (record.scope !== options.scope) throw notFound();
    return record.value;
  }

  /** Deletes a secret; false when it was already gone. */
  async remove(ref: string): Promise<boolean> {
    const file = this.fileOf(idOf(ref));
    try {
      await fs.unlink(file);
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Deletes expired secrets and stale temp files; returns how many files it removed. */
  async sweep(): Promise<number> {
    this.lastSweep = this.now();
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const file = path.join(this.dir, name);
      let stale = false;
      if (FILE_NAME.test(name)) {
        const record = await this.load(file).catch(() => undefined);
        if (record) stale = record.expiresAt <= this.now();
        else stale = await this.olderThan(file, this.ttlMs); // unreadable: by its age
      } else if (TEMP_NAME.test(name)) {
        stale = await this.olderThan(file, TEMP_TTL_MS);
      }
      if (stale) {
        await fs.rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  private fileOf(id: string): string {
    return path.join(this.dir, `${id}${FILE_SUFFIX}`);
  }

  private async ensureDir(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is cut by the umask and ignored for a folder that already exists: set it outright.
    await fs.chmod(this.dir, 0o700);
  }

  /** The parsed file, or undefined when it does not exist. Never follows a symbolic link. */
  private async load(file: string): Promise<SecretFile | undefined> {
    let text: string;
    try {
      const handle = await fs.open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
      try {
        const stat = await handle.stat();
        if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return undefined;
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ELOOP') return undefined;
      throw err;
    }
    return parseRecord(text); // not a secret record: treated as missing; the sweep removes it by age
  }

  private async olderThan(file: string, ms: number): Promise<boolean> {
    const stat = await fs.lstat(file).catch(() => undefined);
    return stat !== undefined && this.now() - stat.mtimeMs > ms;
  }
}
