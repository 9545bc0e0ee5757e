/** Reductions along one axis of [outer, n, inner], and top-k. */
import type { ReduceOp } from '../../../core/op-table.js';
import type { TypedArray } from '../../../core/dtype.js';

export function reduceReference(op: ReduceOp, x: TypedArray, outer: number, n: number, inner: number, out: TypedArray): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let acc = op === 'max' ? -Infinity : op === 'min' ? Infinity : 0;
      for (let j = 0; j < n; j++) {
        const v = x[base + j * inner];
        if (op === 'max') acc = v > acc || Number.isNaN(v) ? v : acc;
        else if (op === 'min') acc = v < acc || Number.isNaN(v) ? v : acc;
        else acc += v;
      }
      out[o * inner + i] = op === 'mean' ? acc / n : acc;
    }
  }
}

/** Index of the first maximum (NaN counts as the maximum, as in PyTorch). */
export function argmaxReference(x: TypedArray, outer: number, n: number, inner: number, out: Int32Array): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let best = 0;
      let bestValue = x[base];
      for (let j = 1; j < n && !Number.isNaN(bestValue); j++) {
        const v = x[base + j * inner];
        if (v > bestValue || Number.isNaN(v)) {
          best = j;
          bestValue = v;
        }
      }
      out[o * inner + i] = best;
    }
  }
}

/**
 * Top-k along the axis: values descending, ties broken by the lower index so results are
 * deterministic. Selection by partial sort of indices: O(n log n) per row, fine for a reference.
 */
export function topkReference(
  x: TypedArray,
  outer: number,
  n: number,
  inner: number,
  k: number,
  values: TypedArray,
  indices: Int32Array,
): void {
  const order = new Int32Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) order[j] = j;
      order.sort((p, q) => {
        const vp = x[base + p * inner];
        const vq = x[base + q * inner];
        const nanP = Number.isNaN(vp);
        const nanQ = Number.isNaN(vq);
        if (nanP || nanQ) return nanP && nanQ ? p - q : nanP ? -1 : 1;
        return vp === vq ? p - q : vq - vp;
      });
      for (let j = 0; j < k; j++) {
        values[o * k * inner + j * inner + i] = x[base + order[j] * inner];
        indices[o * k * inner + j * inner + i] = order[j];
      }
    }
  }
}
