/**
 * The CPU kernel builds every kernel test runs on: baseline WebAssembly SIMD and, where the engine
 * has it, relaxed SIMD; each with one thread and with three (more threads than cores, to shake
 * out partitioning bugs).
 */
import { after, before, describe } from 'node:test';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { nodePlatform } from '../../src/backends/cpu/node/platform.js';

export interface KernelBuild {
  readonly simd: 'simd' | 'relaxed';
  readonly threads: number;
}

export const KERNEL_BUILDS: readonly KernelBuild[] = [
  { simd: 'simd', threads: 1 },
  { simd: 'simd', threads: 3 },
  ...(nodePlatform.supportsRelaxedSimd() ? ([{ simd: 'relaxed', threads: 1 }, { simd: 'relaxed', threads: 3 }] as const) : []),
];

/**
 * One describe() per build, titled `${title} (simd, N threads)`, whose tests reach that build's
 * backend through `cpu()` (created before them, disposed after).
 */
export function describeKernelBuilds(title: string, body: (cpu: () => CpuBackend, build: KernelBuild) => void): void {
  for (const build of KERNEL_BUILDS) {
    describe(`${title} (${build.simd}, ${build.threads} thread${build.threads > 1 ? 's' : ''})`, () => {
      let backend: CpuBackend;
      before(async () => {
        backend = await CpuBackend.create(nodePlatform, build);
      });
      after(() => backend.dispose());
      body(() => backend, build);
    });
  }
}
