/**
 * Compressed sparse rows (the layout of SciPy's csr_matrix): the kept weights of row r are
 * values[rowPtr[r] .. rowPtr[r + 1]), at columns colIndices[same range], ascending. The parts
 * are engine tensors, so on the CPU backend they sit in the WebAssembly heap where the sparse
 * kernels read them in place (backend.linearCsr).
 */
import type { TypedArray } from '../core/dtype.js';
import type { Backend, CsrParts } from '../core/backend.js';
import { getBackend } from '../core/engine.js';
import { ArgumentError } from '../core/errors.js';
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
import { type CsrArrays, CSR_U16_MAX_COLS } from '../core/sparse-layout.js';

export { CSR_U16_MAX_COLS };

export type CsrIndexDType = 'u16' | 'i32';

/** The dtype CSR column indices take for `cols` columns: u16 up to 65536 columns, i32 beyond. */
export function csrIndexDType(cols: number): CsrIndexDType {
  return cols <= CSR_U16_MAX_COLS ? 'u16' : 'i32';
}

export class CsrMatrix extends SparseMatrix<CsrArrays> implements CsrParts {
  /** i32 [rows + 1]: rowPtr[0] = 0, non-decreasing, rowPtr[rows] = nnz. */
  readonly rowPtr: Tensor<'i32'>;
  /** u16 (cols <= 65536) or i32 [nnz]: strictly ascending within each row. */
  readonly colIndices: Tensor<CsrIndexDType>;
  /** f32 [nnz]. */
  readonly values: Tensor<'f32'>;
  /** Stored entries, explicit zeros included (SciPy's nnz). */
  readonly nnz: number;

  private constructor(rows: number, cols: number, rowPtr: Int32Array, colIndices: Uint16Array | Int32Array, values: Float32Array, backend: Backend) {
    super(rows, cols, countNonzero(values));
    this.nnz = values.length;
    this.rowPtr = upload(backend, rowPtr, [rows + 1], 'i32');
    this.colIndices = upload(backend, colIndices, [this.nnz], csrIndexDType(cols));
    this.values = upload(backend, values, [this.nnz], 'f32');
  }

  /**
   * The nonzeros of a dense row-major [rows, cols] matrix; with a mask, exactly the masked
   * positions (zeros included) and nothing else: the matrix stored is then data ⊙ mask.
   */
  static fromDense(data: Float32Array, rows: number, cols: number, backend: Backend = getBackend(), mask?: Mask): CsrMatrix {
    checkDense('CsrMatrix.fromDense', data, rows, cols, mask);
    const keep = mask ? (i: number) => maskBit(mask, i) : (i: number) => data[i] !== 0;
    let nnz = 0;
    for (let i = 0; i < data.length; i++) if (keep(i)) nnz++;
    const rowPtr = new Int32Array(rows + 1);
    const colIndices = csrIndexDType(cols) === 'u16' ? new Uint16Array(nnz) : new Int32Array(nnz);
    const values = new Float32Array(nnz);
    let p = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0, i = r * cols; c < cols; c++, i++) {
        if (!keep(i)) continue;
        colIndices[p] = c;
        values[p++] = data[i];
      }
      rowPtr[r + 1] = p;
    }
    return new CsrMatrix(rows, cols, rowPtr, colIndices, values, backend);
  }

  /** A dense f32 [rows, cols] tensor's nonzeros (or masked positions), on the tensor's backend. */
  static async fromTensor(t: Tensor, mask?: Mask): Promise<CsrMatrix> {
    checkMatrixTensor('CsrMatrix.fromTensor', t);
    const data = (await t.read()) as Float32Array;
    return CsrMatrix.fromDense(data, t.shape[0], t.shape[1], t.backend, mask);
  }

  /**
   * A CSR matrix from host arrays, checked in full: rowPtr has rows + 1 entries, starts at 0,
   * never decreases and ends at nnz; colIndices and values have nnz entries; column indices
   * lie in [0, cols) and strictly increase within each row. Indices are stored as u16 or i32
   * by `cols` (csrIndexDType), whatever array type they come in.
   */
  static fromParts(
    rows: number,
    cols: number,
    rowPtr: ArrayLike<number>,
    colIndices: ArrayLike<number>,
    values: ArrayLike<number>,
    backend: Backend = getBackend(),
  ): CsrMatrix {
    const checked = checkedCsrArrays(rows, cols, rowPtr, colIndices, values);
    return new CsrMatrix(rows, cols, checked.rowPtr, checked.colIndices, checked.values, backend);
  }

  /** The stored positions (explicit zeros included), so fromDense(data, r, c, b, mask).toMask() gives back `mask`. */
  async toMask(): Promise<Mask> {
    const { rowPtr, colIndices } = await this.readArrays();
    const mask = new Mask([this.rows, this.cols]);
    for (let r = 0; r < this.rows; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) mask.set(r * this.cols + colIndices[p]);
    return mask;
  }

  /** Fraction of elements stored: nnz / (rows * cols). */
  storedDensity(): number {
    return ratio(this.nnz, this.rows * this.cols);
  }

  /** The tensors holding the parts (tidy() keeps a returned format's parts alive through this). */
  tensors(): Tensor[] {
    return [this.rowPtr, this.colIndices, this.values];
  }

  protected arraysFrom([rowPtr, colIndices, values]: TypedArray[]): CsrArrays {
    return { rows: this.rows, cols: this.cols, rowPtr: rowPtr as Int32Array, colIndices: colIndices as Uint16Array | Int32Array, values: values as Float32Array };
  }

  protected arraysToDense(arrays: CsrArrays): Float32Array {
    return csrToDense(arrays);
  }

  override toString(): string {
    return `CsrMatrix(${this.rows} x ${this.cols}, nnz ${this.nnz}, ${this.colIndices.dtype} indices, ${this.backend.name})`;
  }
}

/**
 * CsrMatrix.fromParts's checks on host arrays, without uploading them: the arrays as the matrix
 * would hold them (indices as u16 or i32 by `cols`). Lets a loader validate CSR parts it stores
 * in another format.
 */
export function checkedCsrArrays(rows: number, cols: number, rowPtr: ArrayLike<number>, colIndices: ArrayLike<number>, values: ArrayLike<number>): CsrArrays {
  const where = 'CsrMatrix.fromParts';
  checkMatrixDims(where, rows, cols);
  checkLength(where, 'rowPtr', rowPtr.length, rows + 1);
  const nnz = values.length;
  checkLength(where, 'colIndices', colIndices.length, nnz);
  const ptr = toInt32(where, 'rowPtr', rowPtr);
  if (ptr[0] !== 0) throw new ArgumentError(`${where}: rowPtr[0] must be 0, got ${ptr[0]}`);
  for (let r = 0; r < rows; r++) {
    if (ptr[r + 1] < ptr[r]) throw new ArgumentError(`${where}: rowPtr decreases at row ${r} (rowPtr[${r}] = ${ptr[r]}, rowPtr[${r + 1}] = ${ptr[r + 1]})`);
  }
  if (ptr[rows] !== nnz) throw new ArgumentError(`${where}: rowPtr[${rows}] = ${ptr[rows]} must equal nnz, the ${nnz} values given`);
  const index = csrIndexDType(cols) === 'u16' ? new Uint16Array(nnz) : new Int32Array(nnz);
  for (let r = 0; r < rows; r++) {
    for (let p = ptr[r]; p < ptr[r + 1]; p++) {
      const c = colIndices[p];
      if (!Number.isInteger(c) || c < 0 || c >= cols) throw new ArgumentError(`${where}: row ${r} has column index ${c} at position ${p}, outside [0, ${cols})`);
      if (p > ptr[r] && c <= colIndices[p - 1]) {
        throw new ArgumentError(`${where}: column indices of row ${r} must strictly increase, got ${colIndices[p - 1]} then ${c} at position ${p}`);
      }
      index[p] = c;
    }
  }
  return { rows, cols, rowPtr: ptr, colIndices: index, values: toFloat32(values) };
}

function csrToDense({ rows, cols, rowPtr, colIndices, values }: CsrArrays): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) out[r * cols + colIndices[p]] = values[p];
  return out;
}
