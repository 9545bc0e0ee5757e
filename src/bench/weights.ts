/**
 * Random weights with an exact sparsity structure, for benchmarks: every row (or block row)
 * keeps the same count, as a per-row pruning criterion (Wanda's per-output comparison) leaves it.
 */
import { Random } from '../core/random.js';

export function randomDense(rows: number, cols: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const w = new Float32Array(rows * cols);
  const scale = 1 / Math.sqrt(cols);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * scale;
  return w;
}

/** A copy of `dense` keeping round((1 - sparsity) * cols) random entries per row. */
export function unstructuredSparse(dense: Float32Array, rows: number, cols: number, sparsity: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const keep = Math.round((1 - sparsity) * cols);
  const out = new Float32Array(dense.length);
  const order = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) order[c] = c;
    // Partial Fisher-Yates: the first `keep` slots become a uniform sample without replacement.
    for (let i = 0; i < keep; i++) {
      const j = i + rng.int(cols - i);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
      out[r * cols + order[i]] = dense[r * cols + order[i]];
    }
  }
  return out;
}

/** A copy of `dense` keeping round((1 - sparsity) * blocks) random blockRows x blockCols tiles per block row. */
export function blockSparse(
  dense: Float32Array,
  rows: number,
  cols: number,
  blockRows: number,
  blockCols: number,
  sparsity: number,
  seed: number,
): Float32Array {
  const blocksPerRow = cols / blockCols;
  const mask = unstructuredSparse(new Float32Array(blocksPerRow * (rows / blockRows)).fill(1), rows / blockRows, blocksPerRow, sparsity, seed);
  const out = new Float32Array(dense.length);
  for (let r = 0; r < rows; r++) {
    const R = Math.floor(r / blockRows);
    for (let c = 0; c < cols; c++) {
      if (mask[R * blocksPerRow + Math.floor(c / blockCols)] !== 0) out[r * cols + c] = dense[r * cols + c];
    }
  }
  return out;
}

export function zeroFraction(w: Float32Array): number {
  let zeros = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  return w.length === 0 ? 0 : zeros / w.length;
}

/** A stable seed from a weight name (FNV-1a), so each weight gets its own random mask. */
export function seedOfName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}
