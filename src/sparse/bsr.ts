/**
 * Block-sparse rows (BSR, as SciPy's bsr_matrix): the matrix is cut into blockRows x blockCols
 * tiles and only tiles with a kept element are stored, indexed like CSR one level up. Dense
 * tiles let the kernel use SIMD over a whole tile, which pays when pruning is block-structured.
 *
 * Layout (what backend.linearBsr reads):
 *   blockRowPtr     i32 [rows / blockRows + 1]  CSR row pointers over block rows
 *   blockColIndices i32 [nnzBlocks]             block-column index of each tile, ascending per block row
 *   values          f32 [nnzBlocks, blockCols, blockRows]
 * Each tile is stored column-major (k-major): element (r, c) of tile b is at
 * values[b * blockRows * blockCols + c * blockRows + r], because the kernel broadcasts x[c]
 * and accumulates a whole column of blockRows outputs from contiguous memory.
 * (BsrParts' doc comment in core/backend.ts still says row-major; this file is the layout.)
 */
import type { TypedArray } from '../core/dtype.js';
import type { Backend, BsrParts } from '../core/backend.js';
import { getBackend } from '../core/engine.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import {
  checkDense,
  checkLength,
  checkMatrixDims,
  checkMatrixTensor,
  countNonzero,
  ratio,
  toFloat32,
  toInt32,
  upload,
} from './common.js';
import { SparseMatrix } from './sparse-matrix.js';
import { Mask, maskBit } from './mask.js';
import type { BsrArrays } from '../core/sparse-layout.js';

/** Block sizes must be positive integers that divide the matrix: rows % blockRows == 0, cols % blockCols == 0. */
export function checkBsrBlocks(where: string, rows: number, cols: number, blockRows: number, blockCols: number): void {
  checkMatrixDims(where, rows, cols);
  if (!Number.isSafeInteger(blockRows) || blockRows < 1 || !Number.isSafeInteger(blockCols) || blockCols < 1) {
    throw new ArgumentError(`${where}: block sizes must be positive integers, got ${blockRows} x ${blockCols}`);
  }
  if (rows % blockRows !== 0 || cols % blockCols !== 0) {
    throw new ShapeError(
      `${where}: a ${rows} x ${cols} matrix does not divide into ${blockRows} x ${blockCols} blocks ` +
        `(rows % blockRows = ${rows % blockRows}, cols % blockCols = ${cols % blockCols}; both must be 0)`,
    );
  }
}

export class BsrMatrix extends SparseMatrix<BsrArrays> implements BsrParts {
  readonly blockRows: number;
  readonly blockCols: number;
  /** i32 [rows / blockRows + 1]. */
  readonly blockRowPtr: Tensor<'i32'>;
  /** i32 [nnzBlocks], ascending within each block row. */
  readonly blockColIndices: Tensor<'i32'>;
  /** f32 [nnzBlocks, blockCols, blockRows]: tiles column-major (see the file comment). */
  readonly values: Tensor<'f32'>;
  readonly nnzBlocks: number;

  private constructor(
    rows: number,
    cols: number,
    blockRows: number,
    blockCols: number,
    blockRowPtr: Int32Array,
    blockColIndices: Int32Array,
    values: Float32Array,
    backend: Backend,
  ) {
    super(rows, cols, countNonzero(values));
    this.blockRows = blockRows;
    this.blockCols = blockCols;
    this.nnzBlocks = blockColIndices.length;
    this.blockRowPtr = upload(backend, blockRowPtr, [rows / blockRows + 1], 'i32');
    this.blockColIndices = upload(backend, blockColIndices, [this.nnzBlocks], 'i32');
    this.values = upload(backend, values, [this.nnzBlocks, blockCols, blockRows], 'f32');
  }

  /**
   * The tiles of a dense row-major [rows, cols] matrix that hold a nonzero. With a mask, the
   * tiles that hold a masked element, and the matrix stored is data ⊙ mask (unmasked elements
   * inside a kept tile are stored as zeros).
   */
  static fromDense(
    data: Float32Array,
    rows: number,
    cols: number,
    blockRows: number,
    blockCols: number,
    backend: Backend = getBackend(),
    mask?: Mask,
  ): BsrMatrix {
    const where = 'BsrMatrix.fromDense';
    checkBsrBlocks(where, rows, cols, blockRows, blockCols);
    checkDense(where, data, rows, cols, mask);
    const keep = mask ? (i: number) => maskBit(mask, i) : (i: number) => data[i] !== 0;
    const blockRowCount = rows / blockRows;
    const blockColCount = cols / blockCols;
    const blockRowPtr = new Int32Array(blockRowCount + 1);
    const kept: number[] = []; // block-column indices, block row by block row
    for (let R = 0; R < blockRowCount; R++) {
      for (let C = 0; C < blockColCount; C++) {
        if (tileHasKept(keep, cols, R * blockRows, C * blockCols, blockRows, blockCols)) kept.push(C);
      }
      blockRowPtr[R + 1] = kept.length;
    }
    const tile = blockRows * blockCols;
    const values = new Float32Array(kept.length * tile);
    for (let R = 0; R < blockRowCount; R++) {
      for (let b = blockRowPtr[R]; b < blockRowPtr[R + 1]; b++) {
        const col0 = kept[b] * blockCols;
        for (let c = 0; c < blockCols; c++) {
          for (let r = 0; r < blockRows; r++) {
            const i = (R * blockRows + r) * cols + col0 + c;
            if (keep(i)) values[b * tile + c * blockRows + r] = data[i];
          }
        }
      }
    }
    return new BsrMatrix(rows, cols, blockRows, blockCols, blockRowPtr, Int32Array.from(kept), values, backend);
  }

  /** A dense f32 [rows, cols] tensor's nonzero tiles (or masked ones), on the tensor's backend. */
  static async fromTensor(t: Tensor, blockRows: number, blockCols: number, mask?: Mask): Promise<BsrMatrix> {
    checkMatrixTensor('BsrMatrix.fromTensor', t);
    const data = (await t.read()) as Float32Array;
    return BsrMatrix.fromDense(data, t.shape[0], t.shape[1], blockRows, blockCols, t.backend, mask);
  }

  /**
   * A BSR matrix from host arrays in the storage layout (tiles column-major), checked in full:
   * blockRowPtr has rows / blockRows + 1 entries, starts at 0, never decreases and ends at
   * nnzBlocks; block-column indices lie in [0, cols / blockCols) and strictly increase within
   * each block row; values hold nnzBlocks * blockRows * blockCols elements.
   */
  static fromParts(
    rows: number,
    cols: number,
    blockRows: number,
    blockCols: number,
    blockRowPtr: ArrayLike<number>,
    blockColIndices: ArrayLike<number>,
    values: ArrayLike<number>,
    backend: Backend = getBackend(),
  ): BsrMatrix {
    const where = 'BsrMatrix.fromParts';
    checkBsrBlocks(where, rows, cols, blockRows, blockCols);
    const blockRowCount = rows / blockRows;
    const blockColCount = cols / blockCols;
    checkLength(where, 'blockRowPtr', blockRowPtr.length, blockRowCount + 1);
    const nnzBlocks = blockColIndices.length;
    checkLength(where, `values (${nnzBlocks} blocks of ${blockRows} x ${blockCols})`, values.length, nnzBlocks * blockRows * blockCols);
    const ptr = toInt32(where, 'blockRowPtr', blockRowPtr);
    const index = toInt32(where, 'blockColIndices', blockColIndices);
    if (ptr[0] !== 0) throw new ArgumentError(`${where}: blockRowPtr[0] must be 0, got ${ptr[0]}`);
    for (let R = 0; R < blockRowCount; R++) {
      if (ptr[R + 1] < ptr[R]) {
        throw new ArgumentError(`${where}: blockRowPtr decreases at block row ${R} (blockRowPtr[${R}] = ${ptr[R]}, blockRowPtr[${R + 1}] = ${ptr[R + 1]})`);
      }
    }
    if (ptr[blockRowCount] !== nnzBlocks) {
      throw new ArgumentError(`${where}: blockRowPtr[${blockRowCount}] = ${ptr[blockRowCount]} must equal nnzBlocks, the ${nnzBlocks} block indices given`);
    }
    for (let R = 0; R < blockRowCount; R++) {
      for (let b = ptr[R]; b < ptr[R + 1]; b++) {
        const C = index[b];
        if (C < 0 || C >= blockColCount) throw new ArgumentError(`${where}: block row ${R} has block-column index ${C} at position ${b}, outside [0, ${blockColCount})`);
        if (b > ptr[R] && C <= index[b - 1]) {
          throw new ArgumentError(`${where}: block-column indices of block row ${R} must strictly increase, got ${index[b - 1]} then ${C} at position ${b}`);
        }
      }
    }
    return new BsrMatrix(rows, cols, blockRows, blockCols, ptr, index, toFloat32(values), backend);
  }

  /** The positions the stored tiles cover (whole tiles, stored zeros included). */
  async toMask(): Promise<Mask> {
    const { blockRowPtr, blockColIndices } = await this.readArrays();
    const mask = new Mask([this.rows, this.cols]);
    for (let R = 0; R < blockRowPtr.length - 1; R++) {
      for (let b = blockRowPtr[R]; b < blockRowPtr[R + 1]; b++) {
        for (let r = 0; r < this.blockRows; r++) {
          const start = (R * this.blockRows + r) * this.cols + blockColIndices[b] * this.blockCols;
          for (let c = 0; c < this.blockCols; c++) mask.set(start + c);
        }
      }
    }
    return mask;
  }

  /** Fraction of tiles stored: nnzBlocks / ((rows / blockRows) (cols / blockCols)). */
  blockDensity(): number {
    return ratio(this.nnzBlocks, (this.rows / this.blockRows) * (this.cols / this.blockCols));
  }

  /** Fraction of elements stored (what the kernel multiplies); equals blockDensity() as tiles are equal. */
  storedDensity(): number {
    return ratio(this.nnzBlocks * this.blockRows * this.blockCols, this.rows * this.cols);
  }

  /** The tensors holding the parts (tidy() keeps a returned format's parts alive through this). */
  tensors(): Tensor[] {
    return [this.blockRowPtr, this.blockColIndices, this.values];
  }

  override toString(): string {
    return `BsrMatrix(${this.rows} x ${this.cols}, ${this.blockRows} x ${this.blockCols} blocks, ${this.nnzBlocks} stored, ${this.backend.name})`;
  }

  protected arraysFrom([blockRowPtr, blockColIndices, values]: TypedArray[]): BsrArrays {
    const { rows, cols, blockRows, blockCols } = this;
    return { rows, cols, blockRows, blockCols, blockRowPtr: blockRowPtr as Int32Array, blockColIndices: blockColIndices as Int32Array, values: values as Float32Array };
  }

  protected arraysToDense(arrays: BsrArrays): Float32Array {
    return bsrToDense(arrays);
  }
}

function tileHasKept(keep: (i: number) => boolean, cols: number, row0: number, col0: number, blockRows: number, blockCols: number): boolean {
  for (let r = 0; r < blockRows; r++) {
    for (let c = 0, i = (row0 + r) * cols + col0; c < blockCols; c++, i++) if (keep(i)) return true;
  }
  return false;
}

function bsrToDense({ rows, cols, blockRows, blockCols, blockRowPtr, blockColIndices, values }: BsrArrays): Float32Array {
  const out = new Float32Array(rows * cols);
  const tile = blockRows * blockCols;
  for (let R = 0; R < rows / blockRows; R++) {
    for (let b = blockRowPtr[R]; b < blockRowPtr[R + 1]; b++) {
      const col0 = blockColIndices[b] * blockCols;
      for (let c = 0; c < blockCols; c++) {
        for (let r = 0; r < blockRows; r++) out[(R * blockRows + r) * cols + col0 + c] = values[b * tile + c * blockRows + r];
      }
    }
  }
  return out;
}
