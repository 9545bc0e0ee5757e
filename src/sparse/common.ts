/** Checks and small helpers shared by the sparse formats. */
import type { Backend } from '../core/backend.js';
import { BYTES_PER_ELEMENT, type DType, type TypedArray } from '../core/dtype.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { tensor } from '../core/ops.js';
import { formatShape, shapesEqual } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { Mask } from './mask.js';

/** rows and cols must be non-negative integers. */
export function checkMatrixDims(where: string, rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(cols) || cols < 0) {
    throw new ShapeError(`${where}: rows and cols must be non-negative integers, got ${rows} x ${cols}`);
  }
}

/** A dense row-major buffer must hold exactly rows * cols values; a mask must have shape [rows, cols]. */
export function checkDense(where: string, data: ArrayLike<number>, rows: number, cols: number, mask?: Mask): void {
  checkMatrixDims(where, rows, cols);
  if (data.length !== rows * cols) {
    throw new ShapeError(`${where}: ${data.length} values do not fill a ${rows} x ${cols} matrix (${rows * cols} elements)`);
  }
  if (mask && !shapesEqual(mask.shape, [rows, cols])) {
    throw new ShapeError(`${where}: mask shape ${formatShape(mask.shape)} differs from the matrix [${rows}, ${cols}]`);
  }
}

export function checkLength(where: string, what: string, got: number, want: number): void {
  if (got !== want) throw new ShapeError(`${where}: ${what} has ${got} elements, expected ${want}`);
}

/** A dense tensor that can become a sparse matrix: rank 2, f32. */
export function checkMatrixTensor(where: string, t: Tensor): void {
  if (t.rank !== 2) throw new ShapeError(`${where}: expected a matrix [rows, cols], got shape ${formatShape(t.shape)}`);
  if (t.dtype !== 'f32') throw new ArgumentError(`${where}: expected an f32 tensor, got ${t.dtype}`);
}

/** Logical bytes of a tensor's elements (size x element width; backends may pad their buffers). */
export function tensorBytes(t: Tensor): number {
  return t.size * BYTES_PER_ELEMENT[t.dtype];
}

/** part / whole, with 0 for an empty whole (a 0 x n matrix has no elements, dense or not). */
export function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

export function countNonzero(values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  return count;
}

/** Uploads a part with an explicit shape and dtype. */
export function upload<D extends DType>(backend: Backend, data: TypedArray, shape: readonly number[], dtype: D): Tensor<D> {
  return tensor(data, shape, dtype, backend) as Tensor<D>;
}

/** Copies plain numbers or another typed array into an Int32Array, rejecting non-integers. */
export function toInt32(where: string, what: string, data: ArrayLike<number>): Int32Array {
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new ArgumentError(`${where}: ${what}[${i}] = ${v} is not a 32-bit integer`);
    out[i] = v;
  }
  return out;
}

export function toFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
