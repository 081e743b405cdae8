#!/usr/bin/env node
// Entry point for `npx groundwork`: runs the compiled CLI in dist/ (`npm run build`; `npm ci` builds it too).
const { existsSync } = require('node:fs');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'client', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('groundwork is not built yet: run npm run build in the repository first.\n');
  process.exit(1);
}
require(cli)
  .main()
  .then((code) => {
    process.exitCode = code;
    // Let stdout drain and the process end by itself; a handle left open (a closed connection's timer) must not hold it.
    setTimeout(() => process.exit(code), 2000).unref();
  });
