/**
 * What the CPU backend needs from its host and gets differently in Node and in browsers:
 * the kernel binaries, worker threads, the core count. Each host implements this once.
 */
import type { WorkerHandle, WorkerInit } from './thread-pool.js';

/** Kernel builds: baseline WebAssembly SIMD, or with relaxed SIMD (fused multiply-add). */
export type SimdVariant = 'simd' | 'relaxed';

export interface CpuPlatform {
  /** Logical cores the host offers. */
  readonly hardwareThreads: number;
  /** Whether this thread may block on Atomics.wait (false on a browser's main thread). */
  readonly canBlock: boolean;
  /** Whether shared memory (and so worker threads) is available. */
  readonly sharedMemory: boolean;
  /** The compiled kernels of one variant, for shared or unshared memory. */
  loadKernels(variant: SimdVariant, shared: boolean): Promise<WebAssembly.Module>;
  /** Whether the host can run relaxed-SIMD modules (may switch the feature on where it is behind a flag). */
  supportsRelaxedSimd(): boolean;
  startWorker(init: WorkerInit): Promise<WorkerHandle>;
}

/** Where the build puts the kernel binaries, relative to this file in dist/. */
export function kernelsUrl(variant: SimdVariant, shared: boolean): URL {
  return new URL(`../../../wasm/kernels-${variant}${shared ? '' : '-unshared'}.wasm`, import.meta.url);
}

/**
 * A minimal module that uses f32x4.relaxed_madd, to ask the engine whether relaxed SIMD is on:
 * (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd).
 */
export const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section: one body of 0x3b bytes, no locals
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0x105)
  0x0b,
]);
