// The deployment's shared state, chosen by configuration: an S3-compatible bucket when S3_BUCKET is set (every worker
// host and client then sees the same blobs, staged chunks, registry, corpus generations, evaluation state and review
// source views), otherwise the local data dir. One store per process and settings: its S3 client keeps connections.
import { LocalBlobStore, ObjectBlobStore } from './blob-store';
import type { BlobStore } from './blob-store';
import type { S3Settings } from './config';
import { LocalObjectStore, scopedStore } from './object-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';
import { ObjectSecretStore, SecretStore } from './secrets';
import type { Secrets } from './secrets';

export interface SharedStateConfig {
  dataDir: string;
  blobDir: string;
  objectStore?: S3Settings;
}

/**
 * `forActivities`: the store is used inside Temporal activities, which Temporal retries, so the S3 client makes one
 * attempt per call (client retries would multiply with Temporal's). Clients and the HTTP API keep 3 attempts.
 */
export interface SharedStateOptions {
  forActivities?: boolean;
}

const s3Stores = new Map<string, S3ObjectStore>();

function s3Store(settings: S3Settings, options: SharedStateOptions): S3ObjectStore {
  const maxAttempts = options.forActivities ? 1 : 3;
  const id = JSON.stringify([settings, maxAttempts]);
  let store = s3Stores.get(id);
  if (!store) {
    store = new S3ObjectStore({ ...settings, maxAttempts });
    s3Stores.set(id, store);
  }
  return store;
}

/** The object store the deployment's shared state lives in: the bucket, or the data dir. */
export function openObjectStore(config: SharedStateConfig, options: SharedStateOptions = {}): ObjectStore {
  return config.objectStore ? s3Store(config.objectStore, options) : new LocalObjectStore(config.dataDir);
}

/** Uploaded document bytes: `blobs/` of the bucket, or GROUNDWORK_BLOB_DIR (`<data>/blobs`). */
export function openBlobStore(config: SharedStateConfig, options: SharedStateOptions = {}): BlobStore {
  return config.objectStore
    ? new ObjectBlobStore(scopedStore(s3Store(config.objectStore, options), 'blobs'))
    : new LocalBlobStore(config.blobDir);
}

/** PDF passwords by reference: `secrets/` of the bucket, or `<data>/secrets` (a folder only this host can read). */
export function openSecretStore(config: SharedStateConfig, options: SharedStateOptions = {}): Secrets {
  return config.objectStore
    ? new ObjectSecretStore(scopedStore(s3Store(config.objectStore, options), 'secrets'))
    : SecretStore.inDataDir(config.dataDir);
}
