#!/usr/bin/env node
// The committed bin target. npm links bins while it installs, before `prepare` has compiled
// dist/, and skips a bin whose file is missing; this file is in every clone, so
// node_modules/.bin/plinth is always linked, and it runs the build that `prepare` made.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('plinth: the CLI is not built; run `npm run build` in the Plinth checkout\n');
  process.exit(1);
}
await import(main.href);
