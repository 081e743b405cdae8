#!/usr/bin/env node
// Entry point for `npx groundwork`: runs the TypeScript CLI through tsx, so no build step is needed.
require('tsx/cjs');
require('../client/cli.ts').main();
