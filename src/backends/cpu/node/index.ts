/** Node.js entry points of the CPU backend. */
import { setBackend } from '../../../core/engine.js';
import { CpuBackend, type CpuBackendOptions } from '../cpu-backend.js';
import { nodePlatform } from './platform.js';

/** A CPU backend on Node's worker threads. Options default from SPARSEKIT_THREADS and SPARSEKIT_SIMD. */
export function createCpuBackend(options: CpuBackendOptions = {}): Promise<CpuBackend> {
  const envThreads = Number(process.env.SPARSEKIT_THREADS);
  const envSimd = process.env.SPARSEKIT_SIMD;
  return CpuBackend.create(nodePlatform, {
    threads: options.threads ?? (envThreads > 0 ? envThreads : undefined),
    simd: options.simd ?? (envSimd === 'simd' || envSimd === 'relaxed' ? envSimd : 'auto'),
  });
}

/** Creates the CPU backend and makes it the default one. */
export async function initCpu(options: CpuBackendOptions = {}): Promise<CpuBackend> {
  const backend = await createCpuBackend(options);
  setBackend(backend);
  return backend;
}
