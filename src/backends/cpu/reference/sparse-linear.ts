/**
 * The sparse linear products, the plain way: y [batch, rows] = x [batch, cols] W^T for W held
 * as CSR, bitmap, BSR or N:M host arrays. These are the algorithmic references the WebAssembly and
 * WebGPU kernels (backend.linearCsr / linearBsr / linearNm) are tested against, in the manner
 * of llm.c's matmul_forward_naive. They accumulate in f64 so that their own rounding is
 * negligible next to a kernel's (a product of two f32 values is exact in f64).
 */
import { ShapeError } from '../../../core/errors.js';
import { type BitmapArrays, type BsrArrays, type CsrArrays, type NmArrays, nmIndexRowBytes, readPackedIndex } from '../../../core/sparse-layout.js';

function checkInput(op: string, x: Float32Array, batch: number, cols: number): void {
  if (!Number.isSafeInteger(batch) || batch < 0 || x.length !== batch * cols) {
    throw new ShapeError(`${op}: x has ${x.length} values, expected batch (${batch}) x cols (${cols}) = ${batch * cols}`);
  }
}

/** y[b, r] = sum over stored p of row r: values[p] x[b, colIndices[p]]. */
export function linearCsrReference(x: Float32Array, batch: number, w: CsrArrays): Float32Array {
  const { rows, cols, rowPtr, colIndices, values } = w;
  checkInput('linearCsrReference', x, batch, cols);
  const y = new Float32Array(batch * rows);
  for (let b = 0; b < batch; b++) {
    const xo = b * cols;
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) acc += values[p] * x[xo + colIndices[p]];
      y[b * rows + r] = acc;
    }
  }
  return y;
}

/** y[b, r] = sum over the set bits (r, c) of the mask, in column order: values[k] x[b, c], k counting kept weights. */
export function linearBitmapReference(x: Float32Array, batch: number, w: BitmapArrays): Float32Array {
  const { rows, cols, rowPtr, mask, values } = w;
  checkInput('linearBitmapReference', x, batch, cols);
  const rowBytes = Math.ceil(cols / 8);
  const y = new Float32Array(batch * rows);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      let k = rowPtr[r];
      for (let c = 0; c < cols; c++) if ((mask[r * rowBytes + (c >>> 3)] >>> (c & 7)) & 1) acc += values[k++] * x[b * cols + c];
      y[b * rows + r] = acc;
    }
  }
  return y;
}

/** Per stored tile: broadcast x[b, C blockCols + c] down tile column c into the block row's outputs. */
export function linearBsrReference(x: Float32Array, batch: number, w: BsrArrays): Float32Array {
  const { rows, cols, blockRows, blockCols, blockRowPtr, blockColIndices, values } = w;
  checkInput('linearBsrReference', x, batch, cols);
  const y = new Float32Array(batch * rows);
  const tile = blockRows * blockCols;
  const acc = new Float64Array(blockRows);
  for (let b = 0; b < batch; b++) {
    for (let R = 0; R < rows / blockRows; R++) {
      acc.fill(0);
      for (let t = blockRowPtr[R]; t < blockRowPtr[R + 1]; t++) {
        const x0 = b * cols + blockColIndices[t] * blockCols;
        for (let c = 0; c < blockCols; c++) {
          const xv = x[x0 + c];
          const v0 = t * tile + c * blockRows;
          for (let r = 0; r < blockRows; r++) acc[r] += values[v0 + r] * xv;
        }
      }
      for (let r = 0; r < blockRows; r++) y[b * rows + R * blockRows + r] = acc[r];
    }
  }
  return y;
}

/** y[b, r] = sum over kept k of row r: values[r, k] x[b, (k / n) m + position k]. */
export function linearNmReference(x: Float32Array, batch: number, w: NmArrays): Float32Array {
  const { rows, cols, n, m, bitsPerIndex, values, indices } = w;
  checkInput('linearNmReference', x, batch, cols);
  const y = new Float32Array(batch * rows);
  const perRow = (cols / m) * n;
  const rowBytes = nmIndexRowBytes(cols, n, m);
  for (let b = 0; b < batch; b++) {
    const xo = b * cols;
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let k = 0; k < perRow; k++) {
        const col = Math.floor(k / n) * m + readPackedIndex(indices, r * rowBytes, k, bitsPerIndex);
        acc += values[r * perRow + k] * x[xo + col];
      }
      y[b * rows + r] = acc;
    }
  }
  return y;
}
