/**
 * Node entry of the WebGPU backend, on Dawn through the `webgpu` npm package. Loaded lazily, so
 * a platform without its native binary gets the same clear E_WEBGPU error as one without a GPU.
 */
import { SparsekitError } from '../../core/errors.js';
import type { WebGpuBackend } from './backend.js';
import { createWebGpuBackend, type WebGpuBackendOptions } from './device.js';

export interface NodeWebGpuBackendOptions extends Omit<WebGpuBackendOptions, 'gpu'> {
  /** Dawn toggles for `create()`, e.g. ['backend=vulkan'] (default none). */
  readonly dawnOptions?: readonly string[];
}

export async function createNodeWebGpuBackend(options: NodeWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  let gpu: GPU;
  try {
    const { create, globals } = await import('webgpu');
    // GPUBufferUsage, GPUMapMode ... as a browser defines them, for code that expects them.
    Object.assign(globalThis, globals);
    gpu = create([...(options.dawnOptions ?? [])]);
  } catch (e) {
    throw new SparsekitError('E_WEBGPU', `webgpu: the 'webgpu' package (Dawn for Node) could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
  return createWebGpuBackend({ ...options, gpu });
}

export * from './index.js';
