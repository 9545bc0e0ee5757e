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
  '--sharedMemory',
  '--initialMemory', '64',
  '--maximumMemory', '65536',
  '--memoryBase', '1024',
  '--use', 'abort=',
];
for (const [variant, features] of [['simd', 'simd,threads'], ['relaxed', 'simd,threads,relaxed-simd']]) {
  const { error, stderr } = await asc.main([...common, '--enable', features, '--outFile', `dist/wasm/kernels-${variant}.wasm`]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: ${variant} build failed: ${error.message}`);
    process.exit(1);
  }
}
console.log('build-wasm: dist/wasm/kernels-simd.wasm, dist/wasm/kernels-relaxed.wasm');
