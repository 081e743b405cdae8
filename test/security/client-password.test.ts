// The client and the CLI keep PDF passwords out of workflow inputs: the client stores the password and starts the
// workflow with a reference only; the CLI takes it from a file, stdin or GROUNDWORK_PDF_PASSWORD, never from argv.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buildCli } from '../../client/cli';
import { GroundworkClient } from '../../client/groundwork-client';
import type { StartIngestInput } from '../../client/groundwork-client';
import { SecretStore, pdfPasswordScope } from '../../common/secrets';
import type { IngestDocumentInput } from '../../workflows/definitions';

const PASSWORD = 'correct horse battery staple';

let root: string;
let secrets: SecretStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-client-pw-'));
  secrets = SecretStore.inDataDir(root);
});
afterEach(async () => fs.rm(root, { recursive: true, force: true }));

/** A GroundworkClient over a fake Temporal client that records workflow starts. */
type Start = (
  type: string,
  options: { workflowId: string },
) => Promise<{ workflowId: string; firstExecutionRunId?: string }>;

/** A fresh start: the handle names the run it started. */
const started = () =>
  jest.fn<ReturnType<Start>, Parameters<Start>>(async (_t, o) => ({ ...o, firstExecutionRunId: 'run-1' }));

function clientWith(store: SecretStore | undefined, start = started()) {
  const Ctor = GroundworkClient as unknown as new (
    temporal: unknown,
    connection: unknown,
    taskQueue: string,
    ingestConcurrency: number,
    secrets?: SecretStore,
  ) => GroundworkClient;
  return { client: new Ctor({ workflow: { start } }, {}, 'q', 4, store), start };
}

const startedInput = (start: jest.Mock): IngestDocumentInput =>
  (start.mock.calls[0] as [string, { args: [IngestDocumentInput] }])[1].args[0];

const request: StartIngestInput = {
  tenantId: 'acme',
  documentId: 'locked.pdf',
  source: { kind: 'path', path: '/docs/locked.pdf' },
};

describe('GroundworkClient.startIngest with a password', () => {
  test('stores the password under the document scope and sends only its reference', async () => {
    const { client, start } = clientWith(secrets);
    await client.startIngest({ ...request, password: PASSWORD });
    const input = startedInput(start);
    expect(JSON.stringify(start.mock.calls)).not.toContain(PASSWORD);
    expect(input.password).toBeUndefined();
    expect(input.passwordRef).toMatch(/^secret:[0-9a-f]{32}$/);
    await expect(secrets.read(input.passwordRef!, { scope: pdfPasswordScope('acme', 'locked.pdf') })).resolves.toBe(
      PASSWORD,
    );
  });

  test("never forwards a caller's own passwordRef", async () => {
    const { client, start } = clientWith(secrets);
    const planted = { ...request, passwordRef: `secret:${'a'.repeat(32)}` } as StartIngestInput;
    await client.startIngest(planted);
    expect(startedInput(start).passwordRef).toBeUndefined();
  });

  test('without a password nothing is stored', async () => {
    const { client, start } = clientWith(secrets);
    await client.startIngest({ ...request, password: '' });
    expect(startedInput(start).passwordRef).toBeUndefined();
    expect(await fs.readdir(secrets.dir).catch(() => [])).toEqual([]);
  });

  test('a start that fails removes the stored secret', async () => {
    const failing = jest.fn<ReturnType<Start>, Parameters<Start>>(async () => {
      throw new Error('unavailable');
    });
    const { client } = clientWith(secrets, failing);
    await expect(client.startIngest({ ...request, password: PASSWORD })).rejects.toThrow('unavailable');
    expect(await fs.readdir(secrets.dir)).toEqual([]);
  });

  test('joining a run already under way (no run started here) does not leave the new secret behind', async () => {
    const joined = jest.fn<ReturnType<Start>, Parameters<Start>>(async (_t, o) => ({ workflowId: o.workflowId }));
    const { client } = clientWith(secrets, joined);
    await client.startIngest({ ...request, password: PASSWORD });
    expect(await fs.readdir(secrets.dir)).toEqual([]);
  });

  test('a client without a secret store refuses a password instead of sending it', async () => {
    const { client, start } = clientWith(undefined);
    await expect(client.startIngest({ ...request, password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(start).not.toHaveBeenCalled();
  });
});

describe('groundwork ingest password options', () => {
  let startIngest: jest.Mock;
  let fromConfig: jest.SpyInstance;
  let pdf: string;
  const savedEnv = process.env.GROUNDWORK_PDF_PASSWORD;

  beforeEach(async () => {
    pdf = path.join(root, 'locked.pdf');
    await fs.writeFile(pdf, '%PDF-1.4');
    startIngest = jest.fn(async () => ({ workflowId: 'ingest:acme:locked.pdf' }));
    const uploadFile = jest.fn(async (_tenant: string, file: string) => ({
      kind: 'blob' as const,
      ref: 'blob:fake',
      name: path.basename(file),
    }));
    const fake = { startIngest, uploadFile, close: async () => undefined } as unknown as GroundworkClient;
    fromConfig = jest.spyOn(GroundworkClient, 'fromConfig').mockResolvedValue(fake);
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    delete process.env.GROUNDWORK_PDF_PASSWORD;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    if (savedEnv === undefined) delete process.env.GROUNDWORK_PDF_PASSWORD;
    else process.env.GROUNDWORK_PDF_PASSWORD = savedEnv;
  });

  const ingest = (...args: string[]) =>
    buildCli().parseAsync(['node', 'groundwork', 'ingest', '--tenant', 'acme', '--no-wait', ...args]);
  const passedPassword = () => (startIngest.mock.calls[0] as [StartIngestInput])[0].password;

  test('--password-file reads the password, without its trailing line break', async () => {
    const file = path.join(root, 'pw.txt');
    await fs.writeFile(file, `${PASSWORD}\n`, { mode: 0o600 });
    await ingest('--password-file', file, pdf);
    expect(passedPassword()).toBe(PASSWORD);
  });

  test('--password-stdin reads the password from a pipe', async () => {
    jest.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([Buffer.from(`${PASSWORD}\r\n`)]) as never);
    await ingest('--password-stdin', pdf);
    expect(passedPassword()).toBe(PASSWORD);
  });

  test('GROUNDWORK_PDF_PASSWORD is the fallback for a single file', async () => {
    process.env.GROUNDWORK_PDF_PASSWORD = PASSWORD;
    await ingest(pdf);
    expect(passedPassword()).toBe(PASSWORD);
  });

  test('no password anywhere: none is passed', async () => {
    await ingest(pdf);
    expect(passedPassword()).toBeUndefined();
  });

  test('--password on the command line is refused before connecting, without echoing it', async () => {
    const err = (await ingest('--password', PASSWORD, pdf).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain('--password-file');
    expect(err.message).not.toContain(PASSWORD);
    expect(fromConfig).not.toHaveBeenCalled();
    expect(
      buildCli()
        .commands.find((c) => c.name() === 'ingest')!
        .helpInformation(),
    ).not.toMatch(/--password </);
  });

  test('--password-file and --password-stdin together are refused', async () => {
    await expect(ingest('--password-file', 'x', '--password-stdin', pdf)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(fromConfig).not.toHaveBeenCalled();
  });

  test('a password option with several files is refused', async () => {
    const other = path.join(root, 'other.pdf');
    await fs.writeFile(other, '%PDF-1.4');
    const file = path.join(root, 'pw.txt');
    await fs.writeFile(file, PASSWORD);
    await expect(ingest('--password-file', file, pdf, other)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(startIngest).not.toHaveBeenCalled();
  });

  test('an unreadable --password-file fails without naming its content', async () => {
    await expect(ingest('--password-file', path.join(root, 'missing.txt'), pdf)).rejects.toMatchObject({
      code: 'SOURCE_NOT_FOUND',
    });
  });
});
