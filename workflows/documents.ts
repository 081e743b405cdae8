// The document lifecycle: delete one document, or purge everything a tenant has. Each step removes one part and is
// idempotent, so a retried step or a re-run workflow finishes what an interrupted one began. Clients refuse a deletion
// while the document's ingestion runs, and end the tenant's schedule and review tasks before a purge.
import { log } from '@temporalio/workflow';
import type { DocumentPart, TenantPart } from '../activities/documents';
import type { DeleteDocumentInput, DeleteDocumentResult, PurgeTenantInput, PurgeTenantResult } from './definitions';
import { documents } from './proxies';

/** Points first (answers stop citing the document at once), the registry entry last (it names the blobs to delete). */
export async function deleteDocument(input: DeleteDocumentInput): Promise<DeleteDocumentResult> {
  const { tenantId, documentId } = input;
  const remove = async (part: DocumentPart) =>
    (await documents.deleteDocumentPart({ tenantId, documentId, part })).removed;
  const points = await remove('vectors');
  const staged = await remove('staging');
  const blobs = await remove('blobs');
  const registry = await remove('registry');
  log.info('document deleted', { tenantId, documentId, points, blobs, staged, registry });
  return { tenantId, documentId, found: points > 0 || registry > 0, points, blobs, staged, registry };
}

/** Vectors first (nothing of the tenant can be retrieved any more), then files, evaluation state and the registry. */
export async function purgeTenant(input: PurgeTenantInput): Promise<PurgeTenantResult> {
  const { tenantId } = input;
  const remove = async (part: TenantPart) => (await documents.purgeTenantPart({ tenantId, part })).removed;
  const points = await remove('vectors');
  const blobs = await remove('blobs');
  const staged = await remove('staging');
  const evaluations = await remove('evaluations');
  const documentCount = await remove('registry');
  log.info('tenant purged', { tenantId, points, blobs, staged, evaluations, documents: documentCount });
  return { tenantId, points, blobs, staged, evaluations, documents: documentCount };
}
