#!/usr/bin/env node
// The sparsekit command. `npm ci` builds dist/ (the prepare script), so this runs from a clone.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('sparsekit: dist/ is missing; run `npm ci` (or `npm run build`) in the sparsekit folder first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
