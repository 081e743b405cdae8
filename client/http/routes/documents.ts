// Documents of a tenant: upload (streamed into the blob store: multipart/form-data or a raw body; or JSON with small
// inline content or a path under GROUNDWORK_INGEST_ROOTS), list, show and delete; and the purge of a whole tenant.
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { GroundworkError } from '../../../common/errors';
import { documentIdFromName } from '../../../common/ids';
import { resolveIngestPath } from '../../../common/source-files';
import { receiveUpload } from '../../../common/uploads';
import type { DocumentSource } from '../../../workflows/definitions';
import type { StartIngestInput } from '../../groundwork-client';
import { documentIdSchema } from '../../groundwork-client';
import { defineRoute } from '../route';
import type { HttpDeps, Route } from '../route';
import { deletedDocument, documentList, documentRecord, ingestAccepted, ingestResult, purgedTenant } from '../schemas';
import { MAX_JSON_BODY, readJson, validate } from '../body';
import { tenantParams, waitQuery } from './params';
import { actorOf } from './audit';

const ingestOptions = {
  documentId: documentIdSchema.optional(),
  password: z.string().optional(),
  includeHiddenSheets: z.boolean().optional(),
  chunkAcrossPages: z.boolean().optional(),
};
const ingestJsonBody = z.union([
  z.object({ ...ingestOptions, path: z.string().min(1) }),
  z.object({ ...ingestOptions, name: z.string().min(1).max(300), contentBase64: z.string().min(1) }),
]);

const uploadQuery = waitQuery.extend({
  name: z.string().max(300).optional().meta({ description: 'File name of a raw-body upload (required for it)' }),
  documentId: z.string().max(200).optional(),
  includeHiddenSheets: z.enum(['true', 'false']).optional(),
  chunkAcrossPages: z.enum(['true', 'false']).optional(),
});

const documentParams = tenantParams.extend({ documentId: documentIdSchema });

const mediaType = (req: IncomingMessage): string =>
  (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** JSON: inline base64 or a path the tenant may name; anything else: the file itself, streamed into the blob store. */
async function ingestRequest(req: IncomingMessage, tenantId: string, deps: HttpDeps): Promise<StartIngestInput> {
  if (mediaType(req) === 'application/json') {
    const body = validate(ingestJsonBody, await readJson(req, MAX_JSON_BODY), 'body');
    // Checked here too (the worker checks again), so that a path outside the tenant's root is refused at once.
    if ('path' in body) await resolveIngestPath(deps.config.ingest.roots, tenantId, body.path);
    const source: DocumentSource =
      'path' in body
        ? { kind: 'path', path: body.path }
        : { kind: 'inline', name: body.name, contentBase64: body.contentBase64 };
    const { documentId, password, includeHiddenSheets, chunkAcrossPages } = body;
    const name = 'path' in body ? body.path : body.name;
    return {
      tenantId,
      documentId: documentId ?? documentIdFromName(name),
      source,
      password,
      includeHiddenSheets,
      chunkAcrossPages,
    };
  }
  const stores = deps.client.documents;
  if (!stores) throw new GroundworkError('UPLOADS_UNAVAILABLE', 'This server has no blob store for uploads.');
  const upload = await receiveUpload(req, { tenantId, store: stores.blobs, maxBytes: stores.maxUploadBytes });
  const { documentId, includeHiddenSheets, chunkAcrossPages } = upload.fields;
  return {
    tenantId,
    documentId: documentId ?? documentIdFromName(upload.name),
    source: { kind: 'blob', ref: upload.blob.ref, name: upload.name },
    includeHiddenSheets,
    chunkAcrossPages,
  };
}

export const documentRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/v1/tenants/{tenantId}/documents',
    operationId: 'ingestDocument',
    summary: 'Upload and ingest a document',
    description:
      'The body is the file: multipart/form-data (a `file` part plus optional documentId, includeHiddenSheets, ' +
      'chunkAcrossPages fields), or any other content type with `?name=`, streamed into the blob store up to ' +
      'GROUNDWORK_MAX_FILE_MB (413 beyond). application/json takes `{ name, contentBase64 }` (≤ 192 KB) or ' +
      '`{ path }` under `<GROUNDWORK_INGEST_ROOTS>/<tenant>/` (else 400 PATH_NOT_ALLOWED).',
    tag: 'documents',
    access: 'writer',
    params: tenantParams,
    query: uploadQuery,
    rawBody: {
      contentTypes: ['multipart/form-data', 'application/octet-stream', 'application/json'],
      description: 'The document (multipart or raw), or a JSON ingestion request',
      schemas: { 'application/json': z.toJSONSchema(ingestJsonBody, { io: 'input' }) as Record<string, unknown> },
    },
    responses: {
      200: { description: 'The ingestion result (with wait=true)', schema: ingestResult },
      202: { description: 'Ingestion started', schema: ingestAccepted },
    },
    errors: [409, 413, 422],
    handler: async ({ params, query, req, principal, deps }) => {
      const request = await ingestRequest(req, params.tenantId, deps);
      const handle = await deps.client.startIngest(request, actorOf(principal));
      if (query.wait === 'true') return { status: 200, body: await handle.result() };
      return { status: 202, body: { workflowId: handle.workflowId, documentId: request.documentId } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/documents',
    operationId: 'listDocuments',
    summary: "The tenant's documents: id, name, version, chunks, pages or sheets, ingestedAt, last error",
    tag: 'documents',
    access: 'reader',
    params: tenantParams,
    responses: { 200: { description: 'The documents', schema: documentList } },
    handler: async ({ params, deps }) => ({
      status: 200,
      body: { documents: await deps.client.listDocuments(params.tenantId) },
    }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/documents/{documentId}',
    operationId: 'getDocument',
    summary: 'One document',
    tag: 'documents',
    access: 'reader',
    params: documentParams,
    responses: { 200: { description: 'The document', schema: documentRecord } },
    errors: [404],
    handler: async ({ params, deps }) => ({
      status: 200,
      body: await deps.client.getDocument(params.tenantId, params.documentId),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/tenants/{tenantId}/documents/{documentId}',
    operationId: 'deleteDocument',
    summary: 'Delete a document: its chunks, uploads, staged data and registry entry (the deleteDocument workflow)',
    tag: 'documents',
    access: 'writer',
    params: documentParams,
    responses: { 200: { description: 'What was removed', schema: deletedDocument } },
    errors: [404, 409],
    handler: async ({ params, principal, deps }) => ({
      status: 200,
      body: await deps.client.deleteDocument(params.tenantId, params.documentId, actorOf(principal)),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/tenants/{tenantId}',
    operationId: 'purgeTenant',
    summary: 'Erase a tenant: vectors, uploads, evaluation data, the schedule; open review tasks end (purgeTenant)',
    tag: 'tenants',
    access: 'admin',
    params: tenantParams,
    responses: { 200: { description: 'Counts of what was removed', schema: purgedTenant } },
    errors: [409],
    handler: async ({ params, principal, deps }) => ({
      status: 200,
      body: await deps.client.purgeTenant(params.tenantId, actorOf(principal)),
    }),
  }),
];
