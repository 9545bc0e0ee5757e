/**
 * sparsekit for browsers (and any host without Node's APIs): the engine, sparse formats,
 * safetensors from bytes/Blobs, the CPU backend on Web Workers and the WebGPU backend.
 * Node gets src/node.ts instead (the package's "node" export condition).
 */
export * from './core/index.js';
export * from './sparse/index.js';
export * from './io/index.js';
export * from './models/index.js';
export * from './pruning/index.js';
export * from './data/index.js';
export * as autograd from './autograd/index.js';
export * from './nn/index.js';
export * from './training/index.js';
export * from './attention/index.js';
export { CpuBackend, type CpuBackendOptions } from './backends/cpu/cpu-backend.js';
export { createCpuBackend, initCpu } from './backends/cpu/browser/index.js';
export * from './backends/webgpu/index.js';
