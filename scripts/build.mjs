// The whole build, run by `npm ci` (prepare) and `npm run build`: a clean dist/ (no stale
// compiled tests from deleted sources), the WebAssembly kernels, then TypeScript.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['scripts/build-wasm.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', '.'], { stdio: 'inherit' });
console.log('build: dist/ ready');
