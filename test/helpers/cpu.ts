/** One CPU backend per test process, set as the default. */
import { createCpuBackend } from '../../src/backends/cpu/node/index.js';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { setBackend } from '../../src/core/engine.js';

let backend: Promise<CpuBackend> | null = null;

export function cpuBackend(): Promise<CpuBackend> {
  backend ??= createCpuBackend().then((b) => {
    setBackend(b);
    return b;
  });
  return backend;
}
