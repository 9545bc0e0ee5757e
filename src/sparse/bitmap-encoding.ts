/**
 * CSR's positions as a bitmap: one bit per weight, row-major, bit j of byte p of a row standing
 * for column 8p + j, every row starting on a fresh byte. With the values kept in the same order
 * this holds exactly what CSR holds, in rows * ceil(cols / 8) bytes instead of 4 (rows + 1) plus
 * 2 or 4 bytes per stored weight: smaller whenever more than 1/16 of the weights are stored (u16
 * indices). Checkpoints use it to store unstructured weights (docs/sparse-checkpoint.md).
 */
import { ArgumentError } from '../core/errors.js';
import type { CsrArrays } from '../core/sparse-layout.js';
import { csrIndexDType } from './csr.js';

/** Mask bytes per row. */
export function bitmapRowBytes(cols: number): number {
  return Math.ceil(cols / 8);
}

/** The positions of a CSR matrix's stored weights (explicit zeros included). */
export function csrToBitmap({ rows, cols, rowPtr, colIndices }: CsrArrays): Uint8Array {
  const rowBytes = bitmapRowBytes(cols);
  const mask = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) {
      const c = colIndices[p];
      mask[base + (c >>> 3)] |= 1 << (c & 7);
    }
  }
  return mask;
}

/** Row pointers (index of each row's first kept weight) of a bitmap; padding bits past `cols` must be clear. */
export function bitmapRowPointers(rows: number, cols: number, mask: Uint8Array, where = 'bitmap'): Int32Array {
  const rowBytes = bitmapRowBytes(cols);
  if (mask.length !== rows * rowBytes) throw new ArgumentError(`${where}: mask has ${mask.length} bytes, expected ${rows} rows x ${rowBytes} = ${rows * rowBytes}`);
  const rowPtr = new Int32Array(rows + 1);
  const padding = cols % 8 === 0 ? 0 : 0xff & ~((1 << cols % 8) - 1);
  let nnz = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let p = 0; p < rowBytes; p++) nnz += popcount8(mask[base + p]);
    if (padding && mask[base + rowBytes - 1] & padding) {
      throw new ArgumentError(`${where}: row ${r} marks columns at or past ${cols} (padding bits of its last mask byte must be 0)`);
    }
    rowPtr[r + 1] = nnz;
  }
  return rowPtr;
}

/** CSR row pointers and ascending column indices from a bitmap; padding bits past `cols` must be clear. */
export function csrFromBitmap(rows: number, cols: number, mask: Uint8Array, where = 'bitmap'): { rowPtr: Int32Array; colIndices: Uint16Array | Int32Array } {
  const rowBytes = bitmapRowBytes(cols);
  const rowPtr = bitmapRowPointers(rows, cols, mask, where);
  const nnz = rowPtr[rows];
  const colIndices = csrIndexDType(cols) === 'u16' ? new Uint16Array(nnz) : new Int32Array(nnz);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let p = 0; p < rowBytes; p++) {
      let byte = mask[base + p];
      while (byte !== 0) {
        const bit = 31 - Math.clz32(byte & -byte);
        colIndices[k++] = p * 8 + bit;
        byte &= byte - 1;
      }
    }
  }
  return { rowPtr, colIndices };
}

function popcount8(b: number): number {
  b = b - ((b >>> 1) & 0x55);
  b = (b & 0x33) + ((b >>> 2) & 0x33);
  return (b + (b >>> 4)) & 0x0f;
}
