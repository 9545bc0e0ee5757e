/** Browser entry points of the CPU backend. */
import { setBackend } from '../../../core/engine.js';
import { CpuBackend, type CpuBackendOptions } from '../cpu-backend.js';
import { browserPlatform } from './platform.js';

export function createCpuBackend(options: CpuBackendOptions = {}): Promise<CpuBackend> {
  return CpuBackend.create(browserPlatform, options);
}

export async function initCpu(options: CpuBackendOptions = {}): Promise<CpuBackend> {
  const backend = await createCpuBackend(options);
  setBackend(backend);
  return backend;
}
