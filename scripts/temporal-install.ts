// `npm run temporal:install`: installs the pinned Temporal CLI and time-skipping test server into .tools/ ahead of
// first use (the dev server and the tests install them on demand otherwise) and prints what is used.
import path from 'node:path';
import { resolveTemporalCli, resolveTestServer, temporalCliVersion } from '../workers/temporal-cli';

const shown = (file: string): string => path.relative(process.cwd(), file) || file;
const cli = resolveTemporalCli();
process.stdout.write(`temporal CLI: ${shown(cli)} (${temporalCliVersion(cli)})\n`);
const testServer = resolveTestServer((msg) => process.stderr.write(`[temporal] ${msg}\n`));
process.stdout.write(
  `time-skipping test server: ${testServer ? shown(testServer) : 'not installed (python3 with pip needed)'}\n`,
);
