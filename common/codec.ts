// End-to-end payload encryption (GROUNDWORK_PAYLOAD_KEY): every payload the client and the worker send to Temporal
// (workflow and activity inputs and results, heartbeats, queries, updates, memos, failure details) is sealed with
// AES-256-GCM before it leaves the process, so the Temporal server, its database and its UI only ever hold
// ciphertext. The layout follows temporalio/samples-typescript `encryption` (and its Go and Python twins): the
// whole Payload proto is encrypted, `encoding: binary/encrypted` and `encryption-key-id` travel in the metadata,
// and the data is IV (12 random bytes) ‖ ciphertext ‖ GCM tag (16 bytes).
// Failure messages and stack traces are not payloads: they stay readable, which is why errors never quote content.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { GroundworkError } from './errors';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** AES-256-GCM over whole payloads. The first key encrypts; every key decrypts, so keys rotate without downtime. */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly encryptingKeyId: string;

  constructor(keys: readonly PayloadKey[]) {
    const first = keys[0];
    if (!first) throw new GroundworkError('CONFIG_INVALID', 'The payload codec needs at least one key.');
    this.keys = new Map();
    for (const { id, key } of keys) {
      if (key.length !== KEY_BYTES)
        throw new GroundworkError('CONFIG_INVALID', `Payload key "${id}" must be ${KEY_BYTES} bytes.`);
      if (this.keys.has(id)) throw new GroundworkError('CONFIG_INVALID', `Payload key id "${id}" is given twice.`);
      this.keys.set(id, Buffer.from(key));
    }
    this.encryptingKeyId = first.id;
  }

  /** The id of the key new payloads are encrypted with. */
  get keyId(): string {
    return this.encryptingKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.encryptingKeyId) as Buffer; // set in the constructor
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv);
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [METADATA_ENCRYPTION_KEY_ID]: Buffer.from(this.encryptingKeyId),
        },
        data,
      };
    });
  }

  /** Payloads that are not encrypted (recorded before a key was configured) pass through unchanged. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[METADATA_ENCRYPTION_KEY_ID];
      if (!keyIdBytes)
        throw new GroundworkError('PAYLOAD_DECRYPT_FAILED', 'An encrypted payload carries no encryption key id.');
      const keyId = Buffer.from(keyIdBytes).toString();
      const key = this.keys.get(keyId);
      if (!key) {
        throw new GroundworkError(
          'PAYLOAD_KEY_UNKNOWN',
          `A payload is encrypted with key "${keyId.slice(0, 32)}", which is not among the configured payload keys (GROUNDWORK_PAYLOAD_KEY).`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES)
        throw new GroundworkError('PAYLOAD_DECRYPT_FAILED', 'An encrypted payload is too short to be valid.');
      let plain: Buffer;
      try {
        const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch (err) {
        throw new GroundworkError(
          'PAYLOAD_DECRYPT_FAILED',
          `A payload encrypted with key "${keyId.slice(0, 32)}" failed authentication: a different key under that id, or tampered data.`,
          { cause: err },
        );
      }
      try {
        return temporal.api.common.v1.Payload.decode(plain);
      } catch (err) {
        throw new GroundworkError('PAYLOAD_DECRYPT_FAILED', 'A decrypted payload is not a valid Temporal payload.', {
          cause: err,
        });
      }
    });
  }
}

/** The configured codec (config.security.payloadKeys), or undefined when no key is set: payloads stay plain. */
export function createPayloadCodec(keys: readonly PayloadKey[]): PayloadCodec | undefined {
  return keys.length === 0 ? undefined : new EncryptionCodec(keys);
}

/** For `new Client({ dataConverter })` and `Worker.create({ dataConverter })`: the codec when keys are set. */
export function dataConverterFor(keys: readonly PayloadKey[]): DataConverter {
  const codec = createPayloadCodec(keys);
  return codec ? { payloadCodecs: [codec] } : {};
}

// ---------- the Temporal codec-server format (`/v1/codec/encode`, `/v1/codec/decode`) ----------
// The Temporal UI and CLI (`--codec-endpoint`) POST `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }` (the
// proto3 JSON form of Payloads) and expect the same shape back.

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface JsonPayloads {
  payloads: JsonPayload[];
}

/** More than any history page sends; the HTTP layer caps the body size as well. */
const MAX_JSON_PAYLOADS = 10_000;
/** Standard or URL-safe base64 (proto3 JSON readers accept both), padding optional. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function invalid(message: string): GroundworkError {
  return new GroundworkError('INVALID_INPUT', `Codec request: ${message}`);
}

function base64Bytes(value: unknown, where: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) throw invalid(`${where} must be a base64 string.`);
  return Buffer.from(value, 'base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function payloadsFromJson(body: unknown): Payload[] {
  if (!isRecord(body) || !Array.isArray(body.payloads)) throw invalid('the body must be { "payloads": [...] }.');
  if (body.payloads.length > MAX_JSON_PAYLOADS) throw invalid(`at most ${MAX_JSON_PAYLOADS} payloads per request.`);
  return body.payloads.map((item: unknown, i) => {
    if (!isRecord(item)) throw invalid(`payloads[${i}] must be an object.`);
    const payload: Payload = {};
    if (item.metadata !== undefined && item.metadata !== null) {
      if (!isRecord(item.metadata)) throw invalid(`payloads[${i}].metadata must be an object.`);
      payload.metadata = Object.fromEntries(
        Object.entries(item.metadata).map(([k, v]) => [k, base64Bytes(v, `payloads[${i}].metadata.${k}`)]),
      );
    }
    if (item.data !== undefined && item.data !== null) payload.data = base64Bytes(item.data, `payloads[${i}].data`);
    return payload;
  });
}

function payloadsToJson(payloads: Payload[]): JsonPayloads {
  return {
    payloads: payloads.map(({ metadata, data }) => {
      const out: JsonPayload = {};
      if (metadata)
        out.metadata = Object.fromEntries(
          Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
        );
      if (data && data.length > 0) out.data = Buffer.from(data).toString('base64');
      return out;
    }),
  };
}

/**
 * The codec server's `/encode`: a JSON body of plain payloads in, the same payloads encrypted out. Bad bodies throw
 * GroundworkError INVALID_INPUT (HTTP 400).
 */
export async function encodePayloadsJson(codec: PayloadCodec, body: unknown): Promise<JsonPayloads> {
  return payloadsToJson(await codec.encode(payloadsFromJson(body)));
}

/**
 * The codec server's `/decode`: encrypted payloads in, plain payloads out (unencrypted ones pass through). Bad bodies
 * throw INVALID_INPUT; a payload of an unknown key PAYLOAD_KEY_UNKNOWN; a payload that fails authentication
 * PAYLOAD_DECRYPT_FAILED.
 */
export async function decodePayloadsJson(codec: PayloadCodec, body: unknown): Promise<JsonPayloads> {
  return payloadsToJson(await codec.decode(payloadsFromJson(body)));
}
