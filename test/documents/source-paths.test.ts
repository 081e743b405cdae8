// `path` sources: read only below <ingest root>/<tenant>/ once symlinks are resolved, only regular files, and never
// more than the size limit plus one byte, whatever stat says (/proc/self/pagemap reports 0 bytes and never ends).
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readBounded, readIngestPath, readRegularFile, resolveIngestPath } from '../../common/source-files';
import { applicationFailure, makeHarness, pathInput, run } from '../activities/harness';
import type { Harness } from '../activities/harness';

jest.setTimeout(60_000);

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-roots-')));
  root = path.join(dir, 'root');
  await fs.mkdir(path.join(root, 'acme', 'reports'), { recursive: true });
  await fs.mkdir(path.join(root, 'globex'), { recursive: true });
  await fs.writeFile(path.join(root, 'acme', 'reports', 'q3.md'), '# Q3\n\nRevenue grew.\n');
  await fs.writeFile(path.join(root, 'globex', 'secret.md'), '# Globex only\n');
  await fs.writeFile(path.join(dir, 'outside.md'), '# Outside every root\n');
  // Symlinks inside acme's folder: one escaping the root, one into another tenant's folder, one staying inside.
  await fs.symlink(path.join(dir, 'outside.md'), path.join(root, 'acme', 'escape.md'));
  await fs.symlink(path.join(root, 'globex', 'secret.md'), path.join(root, 'acme', 'neighbour.md'));
  await fs.symlink(path.join(root, 'globex'), path.join(root, 'acme', 'globex-dir'));
  await fs.symlink(path.join(root, 'acme', 'reports', 'q3.md'), path.join(root, 'acme', 'latest.md'));
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

const refused = (p: Promise<unknown>, code: string) => expect(p).rejects.toMatchObject({ code, retryable: false });

describe('resolveIngestPath', () => {
  test('accepts a file below <root>/<tenant>/, and a symlink that stays there', async () => {
    const q3 = path.join(root, 'acme', 'reports', 'q3.md');
    await expect(resolveIngestPath([root], 'acme', q3)).resolves.toBe(q3);
    await expect(resolveIngestPath([root], 'acme', path.join(root, 'acme', 'latest.md'))).resolves.toBe(q3);
  });

  test('refuses every path when no ingest roots are configured', async () => {
    await refused(resolveIngestPath([], 'acme', path.join(root, 'acme', 'reports', 'q3.md')), 'PATH_NOT_ALLOWED');
  });

  test('refuses a path outside the roots, and one climbing out with ..', async () => {
    await refused(resolveIngestPath([root], 'acme', path.join(dir, 'outside.md')), 'PATH_NOT_ALLOWED');
    await refused(resolveIngestPath([root], 'acme', '/etc/passwd'), 'PATH_NOT_ALLOWED');
    await refused(
      resolveIngestPath([root], 'acme', path.join(root, 'acme', '..', '..', 'outside.md')),
      'PATH_NOT_ALLOWED',
    );
    await refused(resolveIngestPath([root], 'acme', 'relative/q3.md'), 'PATH_NOT_ALLOWED');
    // The tenant folder itself and the root are not files below it.
    await refused(resolveIngestPath([root], 'acme', path.join(root, 'acme')), 'PATH_NOT_ALLOWED');
  });

  test("refuses another tenant's folder, directly or through a symlink", async () => {
    await refused(resolveIngestPath([root], 'acme', path.join(root, 'globex', 'secret.md')), 'PATH_NOT_ALLOWED');
    await refused(resolveIngestPath([root], 'acme', path.join(root, 'acme', 'neighbour.md')), 'PATH_NOT_ALLOWED');
    await refused(
      resolveIngestPath([root], 'acme', path.join(root, 'acme', 'globex-dir', 'secret.md')),
      'PATH_NOT_ALLOWED',
    );
  });

  test('refuses a symlink that escapes the root', async () => {
    await refused(resolveIngestPath([root], 'acme', path.join(root, 'acme', 'escape.md')), 'PATH_NOT_ALLOWED');
  });

  test('a missing file below the tenant folder is SOURCE_NOT_FOUND; outside it, existence is not revealed', async () => {
    await refused(resolveIngestPath([root], 'acme', path.join(root, 'acme', 'nope.md')), 'SOURCE_NOT_FOUND');
    await refused(resolveIngestPath([root], 'acme', path.join(dir, 'nope.md')), 'PATH_NOT_ALLOWED');
  });
});

describe('bounded reads', () => {
  test('/proc/self/pagemap (stat size 0, endless) is refused or cut off at the limit', async () => {
    if (!existsSync('/proc/self/pagemap')) return;
    const started = Date.now();
    const err = await readRegularFile('/proc/self/pagemap', 1024 * 1024).then(
      (bytes) => new Error(`read ${bytes.length} bytes`),
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: expect.stringMatching(/^(FILE_TOO_LARGE|SOURCE_NOT_FOUND|SOURCE_UNREADABLE)$/) });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('a device and a FIFO are refused as not regular files, without blocking', async () => {
    await refused(readRegularFile('/dev/zero', 1024), 'SOURCE_NOT_FOUND');
    const fifo = path.join(dir, 'pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here
    }
    await refused(readRegularFile(fifo, 1024), 'SOURCE_NOT_FOUND');
  });

  test('reads exactly up to the limit and refuses one byte more', async () => {
    const file = path.join(dir, 'ten.txt');
    await fs.writeFile(file, '0123456789');
    expect((await readRegularFile(file, 10)).toString()).toBe('0123456789');
    await refused(readRegularFile(file, 9), 'FILE_TOO_LARGE');
    const handle = await fs.open(file, 'r');
    try {
      expect((await readBounded(handle, 100)).length).toBe(10);
    } finally {
      await handle.close();
    }
  });

  test('readIngestPath reads an allowed file and refuses a symlinked final component opened behind the check', async () => {
    const q3 = path.join(root, 'acme', 'reports', 'q3.md');
    expect((await readIngestPath([root], 'acme', q3, 1000)).toString()).toContain('Revenue grew');
    await refused(readIngestPath([root], 'acme', path.join(root, 'acme', 'escape.md'), 1000), 'PATH_NOT_ALLOWED');
  });
});

describe('prepareDocument with path sources', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(async () => h.close());

  test('refuses paths outside the tenant folder of the ingest root with a non-retryable PATH_NOT_ALLOWED', async () => {
    const theirs = await h.file('theirs.md', '# Theirs\n\nNot for acme.\n', 'globex');
    for (const file of [theirs, '/etc/hostname', path.join(dir, 'outside.md')]) {
      const failure = await applicationFailure(
        run(h.env(), h.activities.prepareDocument, pathInput('acme', 'x', file)),
      );
      expect(failure).toMatchObject({ type: 'PATH_NOT_ALLOWED', nonRetryable: true });
    }
  });

  test('refuses a symlink in the tenant folder that points elsewhere', async () => {
    const link = path.join(h.sources, 'acme', 'link.md');
    await fs.mkdir(path.dirname(link), { recursive: true });
    await fs.symlink(path.join(dir, 'outside.md'), link);
    const failure = await applicationFailure(run(h.env(), h.activities.prepareDocument, pathInput('acme', 'x', link)));
    expect(failure).toMatchObject({ type: 'PATH_NOT_ALLOWED', nonRetryable: true });
  });
});
