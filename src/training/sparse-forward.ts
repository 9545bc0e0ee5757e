/**
 * Masked weights run through the CSR kernels while training: for each sparse layer at or below
 * `maxDensity`, a CSR copy of W (for y = x W^T) and of W^T (for dx = dy W) whose pattern is the
 * layer's mask, rebuilt only when the mask changes, and whose values are gathered from the dense
 * weight before every forward pass (an engine gather of nnz entries, no host round trip). The
 * weight gradient stays a dense product (RigL's growth reads it; the controller masks it for the
 * others). Layers above the density run dense. Measured on the 0.9M-parameter LM of bench
 * training (widths 128-384, 1,024 tokens a step, 2 threads): a whole training step 1.00x of the
 * dense path at 80% sparsity, 1.05x at 90%, 1.06x at 95% (the projections' products are a small
 * part of a step at these widths; the weight gradient stays dense).
 */
import { copyInto, gather, tensor } from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';
import { CsrMatrix } from '../sparse/csr.js';
import type { SparseLayer } from './types.js';

/** A layer's weight in CSR, both ways: forward [rows, cols] and transposed [cols, rows]. */
export interface SparseWeightPair {
  readonly forward: CsrMatrix;
  readonly transposed: CsrMatrix;
}

interface LayerPattern {
  readonly mask: Uint8Array;
  readonly pair: SparseWeightPair;
  /** Flat positions in W of the forward and the transposed values, in storage order. */
  readonly forwardIndex: Tensor;
  readonly transposedIndex: Tensor;
}

/** CSR parts (row pointers, column indices, flat source positions) of the mask of [rows, cols], or of its transpose. */
function patternOf(mask: Uint8Array, rows: number, cols: number, transposed: boolean): { rowPtr: Int32Array; colIndices: Int32Array; source: Int32Array } {
  const [outer, inner] = transposed ? [cols, rows] : [rows, cols];
  const rowPtr = new Int32Array(outer + 1);
  let nnz = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) nnz++;
  const colIndices = new Int32Array(nnz);
  const source = new Int32Array(nnz);
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const flat = transposed ? i * cols + o : o * cols + i;
      if (!mask[flat]) continue;
      colIndices[p] = i;
      source[p++] = flat;
    }
    rowPtr[o + 1] = p;
  }
  return { rowPtr, colIndices, source };
}

export class SparseForwardWeights {
  private readonly patterns = new Map<string, LayerPattern>();

  constructor(
    readonly layers: readonly SparseLayer[],
    /** Layers whose mask keeps at most this fraction run through CSR. */
    readonly maxDensity = 0.2,
  ) {}

  /**
   * Brings every layer up to date with `masks` (patterns rebuilt where a mask changed) and the
   * current weights (values gathered). Call before each forward pass.
   */
  refresh(masks: ReadonlyMap<string, Uint8Array>): void {
    for (const layer of this.layers) {
      const mask = masks.get(layer.name);
      let pattern = this.patterns.get(layer.name);
      if (!mask) continue;
      if (pattern?.mask !== mask) {
        this.drop(layer.name);
        let kept = 0;
        for (let i = 0; i < mask.length; i++) kept += mask[i];
        if (kept > this.maxDensity * mask.length || kept === 0) continue;
        pattern = this.build(layer, mask);
        this.patterns.set(layer.name, pattern);
      }
      if (!pattern) continue;
      const flat = layer.param.value.reshape([layer.rows * layer.cols, 1]);
      for (const [csr, index] of [
        [pattern.pair.forward, pattern.forwardIndex],
        [pattern.pair.transposed, pattern.transposedIndex],
      ] as const) {
        const values = gather(flat, index);
        copyInto(csr.values, 0, values.reshape([csr.nnz]));
        values.dispose();
      }
      flat.dispose();
    }
  }

  /** The CSR pair of a layer, or undefined when it runs dense. */
  get(name: string): SparseWeightPair | undefined {
    return this.patterns.get(name)?.pair;
  }

  private build(layer: SparseLayer, mask: Uint8Array): LayerPattern {
    const backend = layer.param.value.backend;
    const { rows, cols } = layer;
    const make = (transposed: boolean) => {
      const p = patternOf(mask, rows, cols, transposed);
      const csr = CsrMatrix.fromParts(transposed ? cols : rows, transposed ? rows : cols, p.rowPtr, p.colIndices, new Float32Array(p.source.length), backend);
      return { csr, index: tensor(p.source, [p.source.length], 'i32', backend) };
    };
    const forward = make(false);
    const transposed = make(true);
    return { mask, pair: { forward: forward.csr, transposed: transposed.csr }, forwardIndex: forward.index, transposedIndex: transposed.index };
  }

  private drop(name: string): void {
    const pattern = this.patterns.get(name);
    if (!pattern) return;
    for (const t of [...pattern.pair.forward.tensors(), ...pattern.pair.transposed.tensors(), pattern.forwardIndex, pattern.transposedIndex]) t.dispose();
    this.patterns.delete(name);
  }

  dispose(): void {
    for (const name of [...this.patterns.keys()]) this.drop(name);
  }
}
