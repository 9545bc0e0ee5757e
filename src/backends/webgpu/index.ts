/** The WebGPU backend, browser entry: no Node imports below here. */
export { WebGpuBackend, type WebGpuBackendSettings, type WebGpuOrigin } from './backend.js';
export { WebGpuStorage } from './buffers.js';
export { createWebGpuBackend, type WebGpuBackendOptions } from './device.js';
