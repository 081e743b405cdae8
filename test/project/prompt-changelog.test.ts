// Every prompt version has its entry in prompts/CHANGELOG.md: a version nobody explained is not shipped.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promptVersions, promptsDir } from '../../activities/models/prompts';

test('prompts/CHANGELOG.md has a section for every answer prompt version', async () => {
  const changelog = await fs.readFile(path.join(promptsDir(), 'CHANGELOG.md'), 'utf8');
  const sections = [...changelog.matchAll(/^## answer (v\d+)\s*$/gm)].map((m) => m[1]);
  const versions = promptVersions();
  expect(versions.length).toBeGreaterThan(0);
  for (const v of versions) expect(sections).toContain(v);
  // Nothing described that does not exist, and newest first.
  expect([...sections].sort()).toEqual([...versions].sort());
  expect(sections).toEqual([...versions].reverse());
});
