// The object store in an S3-compatible bucket (AWS S3, MinIO, …): what every worker host and client of a deployment
// shares when S3_ENDPOINT/S3_BUCKET are set. Keys are the interface's '/'-separated keys below an optional prefix.
// S3 faults become typed errors: a store that cannot be reached is a retryable OBJECT_STORE_UNAVAILABLE, a missing
// bucket or refused credentials a non-retryable OBJECT_STORE_MISCONFIGURED. Messages name the bucket and S3's error
// code, never a credential, an endpoint or an object's content.
import { createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GroundworkError } from './errors';
import { assertObjectKey, joinKey, objectTooLarge } from './object-store';
import type { ObjectStore } from './object-store';

export interface S3ObjectStoreOptions {
  /** An S3-compatible endpoint (`http://minio:9000`); undefined: AWS S3 itself. */
  endpoint?: string;
  bucket: string;
  /** Default: the SDK's own (AWS_REGION, profile) for AWS; `us-east-1` with an endpoint (MinIO ignores it). */
  region?: string;
  /** Both or neither; neither: the SDK's default credential chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Every key below this prefix inside the bucket; default none. */
  prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`); default true with an endpoint (MinIO), false for AWS. */
  forcePathStyle?: boolean;
  /** How long a connection may take to open; default 5 s. */
  connectionTimeoutMs?: number;
  /** How long a connection may stay silent mid-request; default 30 s. */
  socketTimeoutMs?: number;
  /** Attempts per request by the SDK (transient faults only); default 3. */
  maxAttempts?: number;
}

/** S3 error codes that mean the store is not set up for us: no bucket, or credentials it refuses. */
const MISCONFIGURED = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'AuthorizationHeaderMalformed',
  'PermanentRedirect',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);

/** Node and SDK network failures: the store may come back. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
]);

interface SdkError {
  name?: unknown;
  code?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const isNetworkError = (err: unknown): boolean => {
  const e = err as SdkError | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'TimeoutError' || (typeof e.code === 'string' && NETWORK_CODES.has(e.code))) return true;
  // The SDK's retry layer rewraps what is not `instanceof Error` in its own realm (a Node socket error seen from a
  // jest sandbox) as `AWS SDK error wrapper for Error: connect ECONNREFUSED …`: only the message keeps the code.
  const message = (err as { message?: unknown }).message;
  if (typeof message === 'string' && message.startsWith('AWS SDK error wrapper for '))
    return ['TimeoutError', 'socket hang up', ...NETWORK_CODES].some((code) => message.includes(code));
  // Happy eyeballs: every address refused at once.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isNetworkError);
};

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    if (this.prefix) assertObjectKey(this.prefix);
    this.description = `s3 bucket ${options.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    const credentials =
      options.accessKeyId !== undefined && options.secretAccessKey !== undefined
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined;
    this.client = new S3Client({
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      region: options.region ?? (options.endpoint !== undefined ? 'us-east-1' : undefined),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(credentials ? { credentials } : {}),
      maxAttempts: options.maxAttempts ?? 3,
      // An idle-socket timeout rather than a whole-request one: a large upload may take long, a silent server not.
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        socketTimeout: options.socketTimeoutMs ?? 30_000,
      },
    });
  }

  /** The bucket key for a store key (checked first: no key names anything outside the store). */
  private key(key: string): string {
    assertObjectKey(key);
    return joinKey(this.prefix, key);
  }

  /** Classifies what the SDK throws; anything unrecognised passes through unchanged. */
  private mapError(err: unknown): unknown {
    if (err instanceof GroundworkError) return err;
    if (isNetworkError(err))
      return new GroundworkError(
        'OBJECT_STORE_UNAVAILABLE',
        `The object store (${this.description}) could not be reached.`,
        {
          retryable: true,
          cause: err,
        },
      );
    const e = err as SdkError | null;
    const name = typeof e?.name === 'string' ? e.name : '';
    const status = e?.$metadata?.httpStatusCode;
    if (MISCONFIGURED.has(name) || status === 401 || status === 403)
      return new GroundworkError(
        'OBJECT_STORE_MISCONFIGURED',
        name === 'NoSuchBucket'
          ? `The object store's bucket (${this.description}) does not exist.`
          : `The object store (${this.description}) refused the request (${name || `status ${String(status)}`}): check its credentials and permissions.`,
        { cause: err },
      );
    if (status !== undefined && (status === 408 || status === 429 || status >= 500))
      return new GroundworkError(
        'OBJECT_STORE_UNAVAILABLE',
        `The object store (${this.description}) answered ${status}${name ? ` (${name})` : ''}.`,
        { retryable: true, cause: err },
      );
    if (status !== undefined && status >= 400)
      return new GroundworkError(
        'OBJECT_STORE_REJECTED',
        `The object store (${this.description}) rejected the request with ${status}${name ? ` (${name})` : ''}.`,
        { cause: err },
      );
    return err;
  }

  private async send<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.mapError(err);
    }
  }

  async get(key: string, options: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
    const Key = this.key(key);
    const { maxBytes } = options;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      const body = res.Body as (Readable & { transformToByteArray(): Promise<Uint8Array> }) | undefined;
      if (!body) return Buffer.alloc(0);
      if (maxBytes === undefined) {
        const bytes = await body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      if (res.ContentLength !== undefined && res.ContentLength > maxBytes) {
        body.destroy();
        throw objectTooLarge(maxBytes);
      }
      // No (or a wrong) length: read no further than one byte past the limit.
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        total += buf.byteLength;
        if (total > maxBytes) {
          body.destroy();
          throw objectTooLarge(maxBytes);
        }
        chunks.push(buf);
      }
      return Buffer.concat(chunks, total);
    } catch (err) {
      const e = err as SdkError;
      if (e.name === 'NoSuchKey' || (e.name !== 'NoSuchBucket' && e.$metadata?.httpStatusCode === 404))
        return undefined;
      throw this.mapError(err);
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const Key = this.key(key);
    const Body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.send(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body })));
  }

  /**
   * One PutObject streaming the file (S3 takes up to 5 GB that way; uploads here are capped far below that, so no
   * multipart upload). The local file is removed once the object is stored; on failure it stays for the caller.
   */
  async putFile(key: string, file: string): Promise<void> {
    const Key = this.key(key);
    const { size } = await fs.stat(file);
    await this.send(() =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key, Body: createReadStream(file), ContentLength: size }),
      ),
    );
    await fs.rm(file, { force: true });
  }

  async delete(key: string): Promise<boolean> {
    const Key = this.key(key);
    let existed = true;
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      // A HEAD answer has no body: 404 is "no such key" or "no such bucket". The DELETE below tells them apart.
      if ((err as SdkError).$metadata?.httpStatusCode !== 404) throw this.mapError(err);
      existed = false;
    }
    await this.send(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })));
    return existed;
  }

  async list(prefix: string): Promise<string[]> {
    const Prefix = `${this.key(prefix)}/`;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.send(() =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        const key = object.Key.slice(strip);
        try {
          assertObjectKey(key);
        } catch {
          continue; // an object no key can name (written by something else)
        }
        keys.push(key);
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return keys.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    // DeleteObjects takes at most 1000 keys per request.
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000).map((k) => ({ Key: joinKey(this.prefix, k) }));
      const res = await this.send(() =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } })),
      );
      const failed = res.Errors?.[0];
      if (failed) {
        const code = failed.Code ?? 'InternalError';
        throw MISCONFIGURED.has(code)
          ? new GroundworkError(
              'OBJECT_STORE_MISCONFIGURED',
              `The object store (${this.description}) refused a delete (${code}).`,
            )
          : new GroundworkError(
              'OBJECT_STORE_UNAVAILABLE',
              `The object store (${this.description}) failed a delete (${code}).`,
              {
                retryable: true,
              },
            );
      }
    }
    return keys.length;
  }

  /** Creates the bucket when it is missing (tests, the dev stack); a bucket that exists is left as it is. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if ((err as SdkError).$metadata?.httpStatusCode !== 404) throw this.mapError(err);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as SdkError).name;
      if (name === 'BucketAlreadyOwnedByYou') return;
      throw this.mapError(err);
    }
  }

  /** Closes the client's connections (tests; a worker keeps its store for its lifetime). */
  close(): void {
    this.client.destroy();
  }
}
