// Builds the CPU kernels (src/backends/cpu/wasm, AssemblyScript) into dist/wasm, twice:
// baseline WebAssembly SIMD, and with relaxed SIMD (fused multiply-add), chosen at load time.
import asc from 'assemblyscript/asc';
import { mkdirSync, rmSync } from 'node:fs';

const entry = 'src/backends/cpu/wasm/index.ts';
// --clean starts the build from an empty dist/, so no compiled test of a deleted source lingers.
if (process.argv.includes('--clean')) rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/wasm', { recursive: true });
const common = [
  entry,
  '-O3',
  '--noAssert',
  '--runtime', 'stub',
  '--importMemory',
  '--initialMemory', '64',
  '--maximumMemory', '65536',
  '--memoryBase', '1024',
  '--use', 'abort=',
];
// A module importing shared memory cannot link to an unshared one, and browsers give shared
// memory only to cross-origin isolated pages: so each SIMD variant is also built unshared.
const built = [];
for (const [variant, features] of [['simd', 'simd,threads'], ['relaxed', 'simd,threads,relaxed-simd']]) {
  for (const shared of [true, false]) {
    const outFile = `dist/wasm/kernels-${variant}${shared ? '' : '-unshared'}.wasm`;
    const { error, stderr } = await asc.main([...common, ...(shared ? ['--sharedMemory'] : []), '--enable', features, '--outFile', outFile]);
    if (error) {
      console.error(stderr.toString());
      console.error(`build-wasm: ${outFile} failed: ${error.message}`);
      process.exit(1);
    }
    built.push(outFile);
  }
}
console.log(`build-wasm: ${built.join(', ')}`);
