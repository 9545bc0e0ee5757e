/** Gather, transpose, slice, concat: index arithmetic only. */
import type { TypedArray } from '../../../core/dtype.js';
import { ArgumentError } from '../../../core/errors.js';
import { type Shape, sizeOf, stridesOf } from '../../../core/shape.js';

/** out[i, :] = table[indices[i], :] with table [V, D]; out-of-range ids are an error, not garbage. */
export function gatherReference(table: TypedArray, V: number, D: number, indices: TypedArray, out: TypedArray): void {
  for (let i = 0; i < indices.length; i++) {
    const id = indices[i];
    if (id < 0 || id >= V) throw new ArgumentError(`gather: index ${id} at position ${i} is outside [0, ${V})`);
    // Narrow rows (im2col's pixels of 1-4 channels) copy faster element by element than through subarray views.
    if (D < 32) for (let d = 0, src = id * D, dst = i * D; d < D; d++) out[dst + d] = table[src + d];
    else out.set(table.subarray(id * D, id * D + D), i * D);
  }
}

export function transposeReference(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void {
  const rank = shape.length;
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  // Stride in the input of each output axis.
  const walk = perm.map((p) => inStrides[p]);
  const n = sizeOf(shape);
  if (n === 0) return;
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < n; o++) {
    out[o] = x[src];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += walk[d];
      if (index[d] < outShape[d]) break;
      src -= walk[d] * outShape[d];
      index[d] = 0;
    }
  }
}

export function sliceReference(x: TypedArray, shape: Shape, begin: readonly number[], end: readonly number[], out: TypedArray): void {
  const rank = shape.length;
  const outShape = begin.map((b, i) => end[i] - b);
  const n = sizeOf(outShape);
  if (n === 0) return;
  const strides = stridesOf(shape);
  // Copy contiguous runs of the last axis.
  const run = outShape[rank - 1];
  const index = begin.slice(0, rank - 1);
  let o = 0;
  while (o < n) {
    let src = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) src += index[d] * strides[d];
    out.set(x.subarray(src, src + run), o);
    o += run;
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      if (index[d] < end[d]) break;
      index[d] = begin[d];
    }
  }
}

export function concatReference(xs: readonly { data: TypedArray; shape: Shape }[], axis: number, out: TypedArray): void {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= xs[0].shape[d];
  const chunks = xs.map(({ data, shape }) => ({ data, chunk: sizeOf(shape.slice(axis)) }));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const { data, chunk } of chunks) {
      out.set(data.subarray(i * chunk, (i + 1) * chunk), o);
      o += chunk;
    }
  }
}
