// `groundwork documents list|show|delete` and `groundwork tenant purge`: the document lifecycle from the command line.
// Listings read the document registry in GROUNDWORK_DATA_DIR (the workers' data dir); deletions and purges run as
// workflows. Every command prints JSON with --json.
import type { Command, Option } from 'commander';
import type { DocumentRecord } from '../activities/documents';
import { ClientInputError, documentIdSchema } from './groundwork-client';
import type { GroundworkClient } from './groundwork-client';

/** What the document commands borrow from the CLI: printing, a connected client, the --tenant option. */
export interface DocumentCommandContext {
  print: (value: unknown, text: () => string) => void;
  withClient: <T>(fn: (client: GroundworkClient) => Promise<T>) => Promise<T>;
  tenantOption: () => Option;
}

function documentLine(d: DocumentRecord): string {
  const size = [
    d.chunks !== undefined ? `${d.chunks} chunks` : undefined,
    d.pages !== undefined ? `${d.pages} pages` : undefined,
    d.sheets !== undefined ? `${d.sheets} sheets` : undefined,
  ].filter(Boolean);
  return [
    d.documentId,
    d.status,
    ...size,
    ...(d.ingestedAt ? [d.ingestedAt] : []),
    ...(d.lastError ? [`last error ${d.lastError.code}`] : []),
  ].join('  ');
}

function documentDetails(d: DocumentRecord): string {
  const rows: [string, string | number | undefined][] = [
    ['document', d.documentId],
    ['status', d.status],
    ['name', d.name],
    ['version', d.version],
    ['chunks', d.chunks],
    ['pages', d.pages],
    ['sheets', d.sheets],
    ['ingested', d.ingestedAt],
    ['last error', d.lastError ? `${d.lastError.code}: ${d.lastError.message} (${d.lastError.at})` : undefined],
  ];
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(10)} ${v}`)
    .join('\n');
}

const documentId = (value: string): string => {
  const r = documentIdSchema.safeParse(value);
  if (!r.success)
    throw new ClientInputError('INVALID_INPUT', `document id: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
};

export function addDocumentCommands(
  program: Command,
  { print, withClient, tenantOption }: DocumentCommandContext,
): void {
  const documents = program.command('documents').description("a tenant's documents: list, show, delete");
  documents
    .command('list')
    .description('list the documents of a tenant: live, failed (with the last error) and being ingested')
    .addOption(tenantOption())
    .action(async (opts: { tenant: string }) => {
      await withClient(async (client) => {
        const list = await client.listDocuments(opts.tenant);
        print(list, () => (list.length ? list.map(documentLine).join('\n') : 'no documents'));
      });
    });
  documents
    .command('show')
    .description('show one document: name, version, chunks, pages or sheets, when it was ingested, its last error')
    .addOption(tenantOption())
    .argument('<documentId>', 'document id', documentId)
    .action(async (id: string, opts: { tenant: string }) => {
      await withClient(async (client) => {
        const record = await client.getDocument(opts.tenant, id);
        print(record, () => documentDetails(record));
      });
    });
  documents
    .command('delete')
    .description(
      "delete a document: its chunks, uploaded bytes, staged data and registry entry (not while it's ingested)",
    )
    .addOption(tenantOption())
    .argument('<documentId>', 'document id', documentId)
    .action(async (id: string, opts: { tenant: string }) => {
      await withClient(async (client) => {
        const result = await client.deleteDocument(opts.tenant, id);
        print(
          result,
          () => `deleted ${id}: ${result.points} chunks, ${result.blobs} blobs, ${result.staged} staged versions`,
        );
      });
    });

  const tenant = program.command('tenant').description('tenant-wide operations');
  tenant
    .command('purge')
    .description(
      'remove everything of a tenant: chunks, uploads, staged data, evaluation state, document registry, the ' +
        're-evaluation schedule and open review tasks',
    )
    .addOption(tenantOption())
    .option('--yes', 'confirm: this cannot be undone')
    .action(async (opts: { tenant: string; yes?: boolean }) => {
      if (!opts.yes)
        throw new ClientInputError(
          'CONFIRMATION_REQUIRED',
          `Purging ${opts.tenant} removes all of its data and cannot be undone: add --yes to confirm.`,
        );
      await withClient(async (client) => {
        const r = await client.purgeTenant(opts.tenant);
        print(r, () =>
          [
            `purged ${opts.tenant}: ${r.points} chunks, ${r.documents} documents, ${r.blobs} blobs, ${r.staged} staged versions,`,
            `${r.evaluations} evaluation files, ${r.reviewTasks} open review tasks ended, schedule ${r.schedule ? 'deleted' : 'none'}`,
          ].join('\n'),
        );
      });
    });
}
