// Every npm script that runs a file of the project must name one that exists (or one `npm run build` writes to
// dist/ from a source that exists): `npm run worker` once pointed at a deleted file and no test ran it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const scripts = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/** The project files a script runs: arguments of node/tsx that look like paths of the repository. */
function filesOf(command: string): string[] {
  return command.split(/&&|\|\||;/).flatMap((part) => {
    const words = part.trim().split(/\s+/);
    const i = words.findIndex((w) => w === 'node' || w === 'tsx');
    if (i < 0) return [];
    const file = words.slice(i + 1).find((w) => !w.startsWith('-'));
    return file && /\.(c?js|ts)$/.test(file) ? [file] : [];
  });
}

/** dist/x/y.js is built from x/y.ts. */
const sourceOf = (file: string): string =>
  file.startsWith('dist/') ? file.replace(/^dist\//, '').replace(/\.js$/, '.ts') : file;

test.each(Object.entries(scripts))('npm run %s runs files that exist', (_name, command) => {
  for (const file of filesOf(command)) expect(existsSync(path.join(root, sourceOf(file)))).toBe(true);
});

test('the worker script goes through the CLI', () => {
  expect(filesOf(scripts.worker ?? '')).toEqual(['bin/groundwork.js']);
});
