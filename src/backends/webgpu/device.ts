/** Finding a GPU: from navigator.gpu in browsers, or a GPU object the caller brings (Node's webgpu package). */
import { SparsekitError } from '../../core/errors.js';
import { WebGpuBackend, type WebGpuBackendSettings } from './backend.js';

export interface WebGpuBackendOptions extends WebGpuBackendSettings {
  /** The WebGPU entry point; default `navigator.gpu`. */
  readonly gpu?: GPU;
  /** An adapter already chosen (then `powerPreference` is unused; pass its `gpu` too where that must be kept alive, as with Dawn for Node). */
  readonly adapter?: GPUAdapter;
  readonly powerPreference?: GPUPowerPreference;
}

/** A WebGPU backend on the default (or given) adapter, with the largest buffers it allows. */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  let { gpu, adapter } = options;
  if (!adapter) {
    gpu = entryPoint(options);
    adapter = await requestAdapter(gpu, options.powerPreference);
  }
  // The defaults (128 MiB bindings, 256 MiB buffers) are below what model weights need; ask for what the adapter has.
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: 'sparsekit' });
  } catch (e) {
    throw new SparsekitError('E_WEBGPU', `webgpu: the adapter refused a device: ${e instanceof Error ? e.message : String(e)}`);
  }
  return new WebGpuBackend(device, { adapter, gpu }, options);
}

function entryPoint(options: WebGpuBackendOptions): GPU {
  const gpu: GPU | undefined = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new SparsekitError(
      'E_WEBGPU',
      'webgpu: WebGPU is not available here (no navigator.gpu): use a browser with WebGPU in a secure context (https or localhost), ' +
        'pass options.gpu, or in Node use createNodeWebGpuBackend() from the webgpu/node entry',
    );
  }
  return gpu;
}

async function requestAdapter(gpu: GPU, powerPreference: GPUPowerPreference | undefined): Promise<GPUAdapter> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
  } catch (e) {
    throw new SparsekitError('E_WEBGPU', `webgpu: requestAdapter failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!adapter) {
    throw new SparsekitError(
      'E_WEBGPU',
      'webgpu: WebGPU is present but found no GPU adapter (no supported GPU or driver here; ' +
        'Chromium without a GPU can use SwiftShader with --enable-unsafe-swiftshader)',
    );
  }
  return adapter;
}
