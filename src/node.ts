/**
 * sparsekit for Node.js: everything of the browser entry, with the CPU backend on worker
 * threads, safetensors files on disk, model inspection, and WebGPU through the `webgpu` package.
 */
export * from './core/index.js';
export * from './sparse/index.js';
export * from './io/index.js';
export * from './models/index.js';
export * from './models/node/index.js';
export * from './pruning/index.js';
export * from './data/index.js';
export * from './data/node/index.js';
export * as autograd from './autograd/index.js';
export * from './nn/index.js';
export * from './training/index.js';
export { runTraining, type TrainingReport, type TrainingRunOptions } from './training/node/run.js';
export { saveCheckpoint, loadLatestCheckpoint, checkpointSteps } from './training/node/checkpoint.js';
export * from './attention/index.js';
export * from './io/node/index.js';
export { CpuBackend, type CpuBackendOptions } from './backends/cpu/cpu-backend.js';
export { createCpuBackend, initCpu } from './backends/cpu/node/index.js';
export * from './backends/webgpu/index.js';
export { createNodeWebGpuBackend } from './backends/webgpu/node.js';
