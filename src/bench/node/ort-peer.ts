/** onnxruntime-node as the kernel benchmark's dense peer. */
import type { DensePeer } from '../kernels.js';
import { createOnnxMatmul } from './onnx-matmul.js';

export function onnxRuntimePeer(threads: number): DensePeer {
  return {
    name: `onnxruntime-node MatMul (${threads} threads)`,
    create: (weight, rows, cols, x, batch) => createOnnxMatmul(weight, rows, cols, x, batch, threads),
  };
}
