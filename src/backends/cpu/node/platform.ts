/** The CPU backend's host in Node.js: worker_threads, files from disk, the V8 flag for relaxed SIMD. */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { SparsekitError } from '../../../core/errors.js';
import { type CpuPlatform, kernelsUrl, RELAXED_SIMD_PROBE, type SimdVariant } from '../platform.js';
import type { WorkerHandle, WorkerInit } from '../thread-pool.js';

export const nodePlatform: CpuPlatform = {
  hardwareThreads: availableParallelism(),
  canBlock: true,
  sharedMemory: true,

  async loadKernels(variant: SimdVariant, shared: boolean): Promise<WebAssembly.Module> {
    const url = kernelsUrl(variant, shared);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await readFile(fileURLToPath(url)));
    } catch {
      throw new SparsekitError('E_WASM', `kernel binary ${fileURLToPath(url)} is missing: run \`npm run build\``);
    }
    return WebAssembly.compile(bytes);
  },

  supportsRelaxedSimd(): boolean {
    if (WebAssembly.validate(RELAXED_SIMD_PROBE)) return true;
    // Node 20's V8 (11.3) has relaxed SIMD behind a flag; Node 22 ships it on. The flag only
    // affects modules compiled after it is set, which is why this runs before loadKernels.
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      return false;
    }
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  },

  startWorker(init: WorkerInit): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
      worker.once('message', () => {
        // Let the process exit while workers sleep in Atomics.wait.
        worker.unref();
        resolve({ terminate: () => void worker.terminate() });
      });
      worker.once('error', reject);
    });
  },
};
