/**
 * Chooses the kernel, the batch strides and the partitions for one matmul on the CPU backend:
 * GEMV for few activation rows (memory-bound; packing would cost as much as the product),
 * the packed GEMM otherwise; batches split across threads when each item is small.
 */
import type { MatmulOptions } from '../../core/backend.js';
import { matmulShape } from '../../core/ops.js';
import { shapesEqual, sizeOf } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { CpuBackend } from './cpu-backend.js';
import type { KernelName } from './kernels.js';
import { batchOffsets } from './reference/matmul.js';
import { evenBounds } from './thread-pool.js';

export interface KernelCall {
  readonly kernel: KernelName;
  readonly args: number[];
  readonly bounds: number[];
}

/** Below this many multiply-adds a kernel runs on the calling thread alone: waking workers costs more. */
const PARALLEL_MIN_MACS = 1 << 16;
/** Up to this many activation rows, dot products over W's rows (no packing) match or beat the packed GEMM (measured, relaxed SIMD, 2 threads). */
const DOT_MAX_ROWS = 48;

export function planMatmul(cpu: CpuBackend, a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions): KernelCall[] {
  const transA = options.transposeA ?? false;
  const transB = options.transposeB ?? false;
  const { M, N, K, batchShape } = matmulShape(a.shape, b.shape, options);
  const batch = sizeOf(batchShape);
  if (batch === 0 || M === 0 || N === 0) return [];
  const aOff = cpu.offsetOf(a);
  const bOff = cpu.offsetOf(b);
  const cOff = cpu.offsetOf(out);
  const aBytes = M * K * 4;
  const bBytes = K * N * 4;
  const cBytes = M * N * 4;

  // Batch strides: each operand either has all batch items or one broadcast to all.
  const aBatch = sizeOf(a.shape.slice(0, -2));
  const bBatch = sizeOf(b.shape.slice(0, -2));
  const linear =
    (aBatch === batch || aBatch === 1) &&
    (bBatch === batch || bBatch === 1) &&
    (aBatch === 1 || shapesEqual(a.shape.slice(0, -2), batchShape)) &&
    (bBatch === 1 || shapesEqual(b.shape.slice(0, -2), batchShape));
  const items: Array<[number, number, number, number]> = linear
    ? [[aOff, bOff, cOff, batch]]
    : [...batchOffsets(a.shape, b.shape, batchShape, M * K, K * N, M * N)].map(([ia, ib, ic]) => [aOff + ia * 4, bOff + ib * 4, cOff + ic * 4, 1]);
  const strideA = aBatch === 1 ? 0 : aBytes;
  const strideB = bBatch === 1 ? 0 : bBytes;

  const threads = cpu.pool.threads;
  const macs = batch * M * N * K;
  const serial = threads === 1 || macs < PARALLEL_MIN_MACS;
  const perItem = M * N * K;
  // Many small matrices (attention heads): give whole items to threads.
  const byBatch = !serial && batch >= 2 * threads && perItem < (1 << 22);

  return items.map(([ao, bo, co, count]) => {
    const batchBounds = serial ? [0, count] : evenBounds(count, threads * 4);
    if (!transA && transB && M <= DOT_MAX_ROWS) {
      const bounds = byBatch ? batchBounds : serial ? [0, N] : evenBounds(N, threads * 4, 4);
      return { kernel: 'gemv_t_f32', args: [ao, bo, co, M, N, K, count, strideA, strideB, cBytes, byBatch ? 1 : 0], bounds };
    }
    if (!transA && !transB && M === 1) {
      const bounds = byBatch ? batchBounds : serial ? [0, N] : evenBounds(N, threads * 4, 16);
      return { kernel: 'gemv_n_f32', args: [ao, bo, co, N, K, count, strideA, strideB, cBytes, byBatch ? 1 : 0], bounds };
    }
    const bounds = byBatch ? batchBounds : serial ? [0, N] : evenBounds(N, threads, 8);
    return {
      kernel: 'gemm_f32',
      args: [ao, bo, co, M, N, K, transA ? 1 : 0, transB ? 1 : 0, count, strideA, strideB, cBytes, byBatch ? 1 : 0, cpu.gemmScratchOffset, cpu.gemmScratchStride],
      bounds,
    };
  });
}
