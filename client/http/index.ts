// The HTTP API (JSON) for backend services: every route but /healthz and /v1/openapi.json needs a credential
// (an API key from the key store, or a JWT of the identity provider). Talks to Temporal only.
import { CorpusGenerations } from '../../activities/answer-cache';
import { openObjectStore } from '../../common/shared-state';
import { ServedAnswers } from './served-answers';
import type { AddressInfo } from 'node:net';
import { createPayloadCodec, decodePayloadsJson, encodePayloadsJson } from '../../common/codec';
import type { Config } from '../../common/config';
import { flushTracing, startTracing } from '../../common/tracing';
import { createAuthenticator } from '../auth/authenticate';
import { KeyStore } from '../auth/key-store';
import { GroundworkClient } from '../groundwork-client';
import type { HttpDeps, PayloadCodecService } from './route';
import { createHttpServer } from './server';

export { HttpError, statusForCode } from './errors';
export { createRoutes } from './routes';
export { buildOpenApi } from './openapi';
export { createHttpServer, errorReply, parseTarget } from './server';
export type { HttpServerOptions } from './server';
export { defineRoute } from './route';
export type { HttpDeps, Reply, Route, RouteContext } from './route';

export interface HttpApi {
  url: string;
  close(): Promise<void>;
}

/** The codec endpoints' service over the configured payload keys; undefined (501) when none are set. */
function codecService(config: Config): PayloadCodecService | undefined {
  const codec = createPayloadCodec(config.security.payloadKeys);
  if (!codec) return undefined;
  return { encode: (body) => encodePayloadsJson(codec, body), decode: (body) => decodePayloadsJson(codec, body) };
}

export async function startHttpApi(config: Config, options: { port: number; host?: string }): Promise<HttpApi> {
  // One tracer provider per process (OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set); nothing when off.
  startTracing(config.tracing, 'http');
  const keys = KeyStore.forDataDir(config.dataDir);
  const auth = await createAuthenticator({ keys, jwt: config.security.jwt });
  const client = await GroundworkClient.fromConfig(config);
  const served = new ServedAnswers(
    CorpusGenerations.inStore(openObjectStore(config)),
    config.answering.cache.maxEntries,
    config.answering.cache.maxAgeMs,
  );
  const deps: HttpDeps = { client, keys, config, codec: codecService(config), served };
  const server = createHttpServer(deps, auth, {
    rateLimit: config.http.rateLimit,
    maxConnections: config.http.maxConnections,
    requestTimeoutMs: config.http.requestTimeoutMs,
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await client.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await client.close();
      await flushTracing().catch(() => undefined);
    },
  };
}
