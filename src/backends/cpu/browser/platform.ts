/**
 * The CPU backend's host in browsers: kernels fetched next to this module, Web Workers (module
 * type) for threads. Threads need shared memory, which browsers give only to cross-origin
 * isolated pages (COOP: same-origin, COEP: require-corp); elsewhere the backend runs on one thread.
 */
import { SparsekitError } from '../../../core/errors.js';
import { type CpuPlatform, kernelsUrl, RELAXED_SIMD_PROBE, type SimdVariant } from '../platform.js';
import type { WorkerHandle, WorkerInit } from '../thread-pool.js';

interface BrowserGlobals {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
  document?: unknown;
}

const g = globalThis as BrowserGlobals;

export const browserPlatform: CpuPlatform = {
  hardwareThreads: g.navigator?.hardwareConcurrency ?? 1,
  // Atomics.wait throws on a window's main thread; inside a worker it is allowed.
  canBlock: g.document === undefined,
  sharedMemory: g.crossOriginIsolated === true,

  async loadKernels(variant: SimdVariant, shared: boolean): Promise<WebAssembly.Module> {
    const url = kernelsUrl(variant, shared);
    const response = await fetch(url);
    if (!response.ok) throw new SparsekitError('E_WASM', `could not fetch ${url.href}: HTTP ${response.status}`);
    return WebAssembly.compileStreaming(response);
  },

  supportsRelaxedSimd(): boolean {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  },

  startWorker(init: WorkerInit): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
      worker.onmessage = () => resolve({ terminate: () => worker.terminate() });
      worker.onerror = (event) => reject(new SparsekitError('E_WASM', `CPU worker failed to start: ${event.message}`));
      worker.postMessage(init);
    });
  },
};
