// The README's front door is `npx groundwork …` from the repository root after `npm ci`: npm resolves the project's
// own bin (package.json "bin") without fetching anything. This runs exactly that, with installs refused.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

test('`npx groundwork --help` runs the project CLI from the repository root', () => {
  if (!existsSync(path.join(root, 'dist', 'client', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` before this test (`npm test` does).');
  const r = spawnSync('npx', ['--no-install', 'groundwork', '--help'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, npm_config_yes: 'false' },
  });
  expect(r.error).toBeUndefined();
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(r.stdout).toMatch(/^Usage: groundwork /);
  for (const command of ['dev', 'worker', 'ingest', 'ask', 'review', 'eval', 'usage', 'audit'])
    expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
}, 150_000);
