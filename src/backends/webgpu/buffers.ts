/** GPU buffers behind tensors. */
import type { Storage } from '../../core/backend.js';

/**
 * GPUBufferUsage and GPUMapMode bits (WebGPU spec, section "Buffer Usages"), as numbers: the
 * GPUBufferUsage global is absent in Node until the webgpu package installs its globals, and
 * TypeScript's DOM library declares only the types.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  STORAGE: 0x0080,
} as const;

export const MAP_MODE_READ = 0x0001;
export const SHADER_STAGE_COMPUTE = 0x4;

/** A tensor's elements: one GPUBuffer, padded to whole 32-bit words. */
export class WebGpuStorage implements Storage {
  constructor(
    readonly buffer: GPUBuffer,
    /** The elements' bytes, before padding. */
    readonly byteLength: number,
  ) {}
}

/**
 * Buffer bytes for `bytes` of data: copies and writeBuffer move whole words, shaders index
 * array<u32>, and a binding cannot be empty, so at least 4 and a multiple of 4 (u8 [3] takes 4).
 */
export function paddedSize(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}
