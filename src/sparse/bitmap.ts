/**
 * Bitmap rows: one bit per weight saying whether it is kept, plus the kept values packed in row
 * order (the "bitmap" of docs/sparse-checkpoint.md, now also a format in memory). At 50% this is
 * 2.125 bytes per weight against CSR's 3 (f32 value + u16 index) and dense's 4, and its batch-1
 * kernel reads activations contiguously and expands the kept values in registers instead of
 * gathering one activation per value: the layout for unstructured sparsity up to about 60%,
 * where CSR's index bytes and gathers cancel most of what it saves (SpInfer, Fan et al., EuroSys
 * 2025, makes the same case on GPUs). CSR stays the better format at high sparsity, where a
 * bitmap still walks every column.
 */
import type { Backend, BitmapParts } from '../core/backend.js';
import type { TypedArray } from '../core/dtype.js';
import { getBackend } from '../core/engine.js';
import { ArgumentError } from '../core/errors.js';
import type { BitmapArrays } from '../core/sparse-layout.js';
import type { Tensor } from '../core/tensor.js';
import { bitmapRowBytes, bitmapRowPointers, csrFromBitmap, csrToBitmap } from './bitmap-encoding.js';
import { checkDense, checkLength, checkMatrixDims, checkMatrixTensor, countNonzero, toFloat32, upload } from './common.js';
import { CsrMatrix } from './csr.js';
import { Mask, maskBit } from './mask.js';
import { SparseMatrix } from './sparse-matrix.js';

export class BitmapMatrix extends SparseMatrix<BitmapArrays> implements BitmapParts {
  /** i32 [rows + 1]: rowPtr[r] is the index of row r's first kept value; rowPtr[rows] = nnz. */
  readonly rowPtr: Tensor<'i32'>;
  /** u8 [rows, ceil(cols / 8)]: bit j of byte p of row r marks column 8p + j as kept. */
  readonly mask: Tensor<'u8'>;
  /** f32 [nnz], row by row, in column order. */
  readonly values: Tensor<'f32'>;
  /** Kept weights, explicit zeros included. */
  readonly nnz: number;

  private constructor(rows: number, cols: number, rowPtr: Int32Array, mask: Uint8Array, values: Float32Array, backend: Backend) {
    super(rows, cols, countNonzero(values));
    this.nnz = values.length;
    this.rowPtr = upload(backend, rowPtr, [rows + 1], 'i32');
    this.mask = upload(backend, mask, [rows, bitmapRowBytes(cols)], 'u8');
    this.values = upload(backend, values, [this.nnz], 'f32');
  }

  /** The nonzeros of a dense row-major [rows, cols] matrix; with a mask, exactly the masked positions (zeros included). */
  static fromDense(data: Float32Array, rows: number, cols: number, backend: Backend = getBackend(), mask?: Mask): BitmapMatrix {
    checkDense('BitmapMatrix.fromDense', data, rows, cols, mask);
    const keep = mask ? (i: number) => maskBit(mask, i) : (i: number) => data[i] !== 0;
    const rowBytes = bitmapRowBytes(cols);
    const bits = new Uint8Array(rows * rowBytes);
    const rowPtr = new Int32Array(rows + 1);
    let nnz = 0;
    for (let i = 0; i < data.length; i++) if (keep(i)) nnz++;
    const values = new Float32Array(nnz);
    let p = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0, i = r * cols; c < cols; c++, i++) {
        if (!keep(i)) continue;
        bits[r * rowBytes + (c >>> 3)] |= 1 << (c & 7);
        values[p++] = data[i];
      }
      rowPtr[r + 1] = p;
    }
    return new BitmapMatrix(rows, cols, rowPtr, bits, values, backend);
  }

  /** A dense f32 [rows, cols] tensor's nonzeros (or masked positions), on the tensor's backend. */
  static async fromTensor(t: Tensor, mask?: Mask): Promise<BitmapMatrix> {
    checkMatrixTensor('BitmapMatrix.fromTensor', t);
    return BitmapMatrix.fromDense((await t.read()) as Float32Array, t.shape[0], t.shape[1], t.backend, mask);
  }

  /** The same stored positions and values as a CSR matrix (explicit zeros stay stored). */
  static async fromCsr(csr: CsrMatrix, backend: Backend = csr.backend): Promise<BitmapMatrix> {
    const arrays = await csr.readArrays();
    return BitmapMatrix.fromParts(csr.rows, csr.cols, csrToBitmap(arrays), arrays.values, backend);
  }

  /**
   * A bitmap matrix from its stored parts, checked: the mask has rows x ceil(cols / 8) bytes, no
   * bit set past the last column, and as many set bits as there are values.
   */
  static fromParts(rows: number, cols: number, mask: Uint8Array, values: ArrayLike<number>, backend: Backend = getBackend()): BitmapMatrix {
    const where = 'BitmapMatrix.fromParts';
    checkMatrixDims(where, rows, cols);
    checkLength(where, 'mask', mask.length, rows * bitmapRowBytes(cols));
    const rowPtr = bitmapRowPointers(rows, cols, mask, where);
    if (rowPtr[rows] !== values.length) throw new ArgumentError(`${where}: the mask marks ${rowPtr[rows]} weights but ${values.length} values were given`);
    return new BitmapMatrix(rows, cols, rowPtr, Uint8Array.from(mask), toFloat32(values), backend);
  }

  /** The same stored positions and values as CSR. */
  async toCsr(backend: Backend = this.backend): Promise<CsrMatrix> {
    const { rows, cols, mask, values } = await this.readArrays();
    const { rowPtr, colIndices } = csrFromBitmap(rows, cols, mask);
    return CsrMatrix.fromParts(rows, cols, rowPtr, colIndices, values, backend);
  }

  /** The stored positions (explicit zeros included). */
  async toMask(): Promise<Mask> {
    const { mask } = await this.readArrays();
    const out = new Mask([this.rows, this.cols]);
    const rowBytes = bitmapRowBytes(this.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < this.cols; c++) if ((mask[r * rowBytes + (c >>> 3)] >>> (c & 7)) & 1) out.set(r * this.cols + c);
    }
    return out;
  }

  tensors(): Tensor[] {
    return [this.rowPtr, this.mask, this.values];
  }

  protected arraysFrom([rowPtr, mask, values]: TypedArray[]): BitmapArrays {
    return { rows: this.rows, cols: this.cols, rowPtr: rowPtr as Int32Array, mask: mask as Uint8Array, values: values as Float32Array };
  }

  protected arraysToDense({ rows, cols, mask, values }: BitmapArrays): Float32Array {
    const out = new Float32Array(rows * cols);
    const rowBytes = bitmapRowBytes(cols);
    let p = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) if ((mask[r * rowBytes + (c >>> 3)] >>> (c & 7)) & 1) out[r * cols + c] = values[p++];
    }
    return out;
  }

  override toString(): string {
    return `BitmapMatrix(${this.rows} x ${this.cols}, nnz ${this.nnz}, ${this.backend.name})`;
  }
}
