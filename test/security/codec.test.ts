// The payload codec (GROUNDWORK_PAYLOAD_KEY): AES-256-GCM round trips, typed errors for a wrong or unknown key,
// rotation, and the JSON format of the codec endpoints the Temporal UI and CLI call.
import { randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  METADATA_ENCRYPTION_KEY_ID,
  createPayloadCodec,
  dataConverterFor,
  decodePayloadsJson,
  encodePayloadsJson,
} from '../../common/codec';
import { loadConfig } from '../../common/config';
import { GroundworkError } from '../../common/errors';

const key = (id: string) => ({ id, key: randomBytes(32) });
const oldKey = key('k2025');
const newKey = key('k2026');
const SECRET_TEXT = 'Full-time employees receive 25 vacation days';

const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString();

async function rejectionOf(promise: Promise<unknown>): Promise<GroundworkError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GroundworkError)) throw new Error(`expected a GroundworkError, got ${String(err)}`);
  return err;
}

describe('EncryptionCodec', () => {
  const codec = new EncryptionCodec([oldKey]);

  test('round-trips every kind of value through encryption', async () => {
    const values = [SECRET_TEXT, { question: 'How many?', n: 25, nested: [null, true] }, null, '', 0, []];
    const encoded = await codec.encode(values.map(toPayload));
    const decoded = await codec.decode(encoded);
    expect(decoded.map(fromPayload)).toEqual(values);
  });

  test('ciphertext hides the content, names the key and differs per payload (random 12-byte IV)', async () => {
    const [a, b] = await codec.encode([toPayload(SECRET_TEXT), toPayload(SECRET_TEXT)]);
    for (const p of [a!, b!]) {
      expect(text(p.metadata?.[METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
      expect(text(p.metadata?.[METADATA_ENCRYPTION_KEY_ID])).toBe('k2025');
      expect(Buffer.from(p.data!).includes(Buffer.from('vacation'))).toBe(false);
      // The original encoding (json/plain) is inside the ciphertext too, not beside it.
      expect(Object.keys(p.metadata ?? {}).sort()).toEqual([METADATA_ENCODING_KEY, METADATA_ENCRYPTION_KEY_ID].sort());
    }
    expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(b!.data!).subarray(0, 12))).toBe(false);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  test('plain payloads recorded before a key was configured decode unchanged', async () => {
    const plain = toPayload({ status: 'ingested' });
    expect((await codec.decode([plain])).map(fromPayload)).toEqual([{ status: 'ingested' }]);
  });

  test('a payload encrypted with a key id that is not configured fails with PAYLOAD_KEY_UNKNOWN', async () => {
    const encoded = await new EncryptionCodec([newKey]).encode([toPayload(SECRET_TEXT)]);
    const err = await rejectionOf(codec.decode(encoded));
    expect(err).toMatchObject({ code: 'PAYLOAD_KEY_UNKNOWN', retryable: false });
    expect(err.message).toContain('k2026');
    expect(err.message).not.toContain('vacation');
  });

  test('another key under the same id fails with PAYLOAD_DECRYPT_FAILED', async () => {
    const impostor = new EncryptionCodec([{ id: 'k2025', key: randomBytes(32) }]);
    const err = await rejectionOf(impostor.decode(await codec.encode([toPayload(SECRET_TEXT)])));
    expect(err).toMatchObject({ code: 'PAYLOAD_DECRYPT_FAILED', retryable: false });
  });

  test('tampered, truncated or unlabelled ciphertext fails with PAYLOAD_DECRYPT_FAILED', async () => {
    const [p] = await codec.encode([toPayload(SECRET_TEXT)]);
    const flipped = Buffer.from(p!.data!);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...p!, data: flipped }])).rejects.toMatchObject({ code: 'PAYLOAD_DECRYPT_FAILED' });
    await expect(codec.decode([{ ...p!, data: Buffer.from(p!.data!).subarray(0, 20) }])).rejects.toMatchObject({
      code: 'PAYLOAD_DECRYPT_FAILED',
    });
    const unlabelled = { metadata: { [METADATA_ENCODING_KEY]: p!.metadata![METADATA_ENCODING_KEY]! }, data: p!.data };
    await expect(codec.decode([unlabelled])).rejects.toMatchObject({ code: 'PAYLOAD_DECRYPT_FAILED' });
  });

  test('rotation: with a new key added first, old payloads still decode and new ones use the new key', async () => {
    const before = await new EncryptionCodec([oldKey]).encode([toPayload(SECRET_TEXT)]);
    const rotated = new EncryptionCodec([newKey, oldKey]);
    expect(rotated.keyId).toBe('k2026');
    expect((await rotated.decode(before)).map(fromPayload)).toEqual([SECRET_TEXT]);
    const after = await rotated.encode([toPayload('new')]);
    expect(text(after[0]!.metadata?.[METADATA_ENCRYPTION_KEY_ID])).toBe('k2026');
    // A process still on the old key alone cannot read what the new key wrote: roll workers and clients together.
    await expect(new EncryptionCodec([oldKey]).decode(after)).rejects.toMatchObject({ code: 'PAYLOAD_KEY_UNKNOWN' });
  });

  test('refuses keys that are not 32 bytes or share an id', () => {
    expect(() => new EncryptionCodec([{ id: 'short', key: randomBytes(16) }])).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => new EncryptionCodec([oldKey, { ...oldKey }])).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe('createPayloadCodec and dataConverterFor', () => {
  test('no keys: no codec and a default data converter', () => {
    expect(createPayloadCodec([])).toBeUndefined();
    expect(dataConverterFor([])).toEqual({});
  });

  test('the configured keys (GROUNDWORK_PAYLOAD_KEY) make a codec whose first key encrypts', async () => {
    const env = `k2026:${newKey.key.toString('base64')},k2025:${oldKey.key.toString('base64')}`;
    const keys = loadConfig({ GROUNDWORK_PAYLOAD_KEY: env }).security.payloadKeys;
    const converter = dataConverterFor(keys);
    expect(converter.payloadCodecs).toHaveLength(1);
    const codec = converter.payloadCodecs![0]!;
    const [p] = await codec.encode([toPayload(SECRET_TEXT)]);
    expect(text(p!.metadata?.[METADATA_ENCRYPTION_KEY_ID])).toBe('k2026');
    const legacy = await new EncryptionCodec([oldKey]).encode([toPayload('old')]);
    expect((await codec.decode(legacy)).map(fromPayload)).toEqual(['old']);
  });
});

describe('codec endpoint JSON (/v1/codec/encode, /v1/codec/decode)', () => {
  const codec = new EncryptionCodec([newKey, oldKey]);
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  /** What the Temporal UI sends: proto3 JSON payloads, every bytes field in base64. */
  const uiBody = {
    payloads: [
      { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ question: 'How many vacation days?' })) },
      { metadata: { encoding: b64('binary/null') } },
    ],
  };

  test('encode then decode over JSON (as the wire carries it) returns the original payloads', async () => {
    const encoded = JSON.parse(JSON.stringify(await encodePayloadsJson(codec, uiBody))) as unknown;
    const payloads = (encoded as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(payloads).toHaveLength(2);
    for (const p of payloads) {
      expect(Buffer.from(p.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
      expect(Buffer.from(p.metadata['encryption-key-id']!, 'base64').toString()).toBe('k2026');
      expect(Buffer.from(p.data, 'base64').toString('latin1')).not.toContain('vacation');
    }
    const decoded = JSON.parse(JSON.stringify(await decodePayloadsJson(codec, encoded))) as unknown;
    expect(decoded).toEqual(uiBody);
  });

  test('decode reads payloads the worker encrypted, and passes plain ones through', async () => {
    const [sealed] = await new EncryptionCodec([oldKey]).encode([toPayload({ answer: '25 days' })]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(sealed!.data!).toString('base64'),
        },
        uiBody.payloads[0],
      ],
    };
    const out = await decodePayloadsJson(codec, body);
    const values = out.payloads.map((p) =>
      fromPayload({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(p.data ?? '', 'base64'),
      }),
    );
    expect(values).toEqual([{ answer: '25 days' }, { question: 'How many vacation days?' }]);
  });

  test('an empty list is fine', async () => {
    await expect(encodePayloadsJson(codec, { payloads: [] })).resolves.toEqual({ payloads: [] });
    await expect(decodePayloadsJson(codec, { payloads: [] })).resolves.toEqual({ payloads: [] });
  });

  test.each([
    ['no body', undefined],
    ['an array', []],
    ['no payloads', { items: [] }],
    ['payloads not a list', { payloads: {} }],
    ['a payload that is not an object', { payloads: ['x'] }],
    ['metadata not an object', { payloads: [{ metadata: 'x' }] }],
    ['metadata value not base64', { payloads: [{ metadata: { encoding: 'not base64!' } }] }],
    ['data not a string', { payloads: [{ data: 12 }] }],
    ['too many payloads', { payloads: Array.from({ length: 10_001 }, () => ({})) }],
  ])('a bad body (%s) is INVALID_INPUT', async (_what, body) => {
    await expect(encodePayloadsJson(codec, body)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(decodePayloadsJson(codec, body)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  test('decoding a payload of an unknown key is PAYLOAD_KEY_UNKNOWN', async () => {
    const foreign = await encodePayloadsJson(new EncryptionCodec([key('other')]), uiBody);
    await expect(decodePayloadsJson(codec, foreign)).rejects.toMatchObject({ code: 'PAYLOAD_KEY_UNKNOWN' });
  });
});
