#!/usr/bin/env node
// Runs jest and ends with one plain summary line ("N passed, N failed, N skipped") that CI systems can read,
// keeping jest's exit code. Extra arguments are passed to jest.
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dir = mkdtempSync(path.join(os.tmpdir(), 'groundwork-jest-'));
const outputFile = path.join(dir, 'results.json');
const jest = require.resolve('jest/bin/jest');
const r = spawnSync(
  process.execPath,
  [jest, '--runInBand', '--json', `--outputFile=${outputFile}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let code = r.status ?? 1;
try {
  const res = JSON.parse(readFileSync(outputFile, 'utf8'));
  const skipped = res.numPendingTests + (res.numTodoTests || 0);
  process.stdout.write(`\ntests: ${res.numPassedTests} passed, ${res.numFailedTests} failed, ${skipped} skipped\n`);
  if (res.numTotalTests === 0) code = code || 1;
} catch {
  process.stdout.write('\ntests: 0 passed, 1 failed\n');
  code = code || 1;
}
rmSync(dir, { recursive: true, force: true });
process.exit(code);
