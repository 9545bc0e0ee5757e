/**
 * N:M structured sparsity (Mishra et al. 2021; Zhou et al. 2021, "Learning N:M Fine-grained
 * Structured Sparse Neural Networks"): every group of m consecutive weights along a row (the
 * input dimension) stores exactly n values, so the values form a dense [rows, cols / m * n]
 * matrix and each needs only a small position index.
 *
 * Layout (what backend.linearNm reads):
 *   values  f32 [rows, cols / m * n]  each group's kept values in ascending position order
 *   indices u8  [rows, ceil(cols / m * n * bitsPerIndex / 8)]
 * Each kept value's position inside its group (0..m-1) takes bitsPerIndex bits (2 for m <= 4,
 * 4 for m <= 16, 8 for m <= 256), packed least significant bits first in value order along the
 * row; every row starts on a fresh byte. For 2:4 one byte holds two groups: the low nibble is
 * group g (i0 | i1 << 2), the high nibble group g + 1.
 */
import type { TypedArray } from '../core/dtype.js';
import type { Backend, NmParts } from '../core/backend.js';
import { getBackend } from '../core/engine.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { checkDense, checkLength, checkMatrixDims, checkMatrixTensor, countNonzero, toFloat32, upload } from './common.js';
import { SparseMatrix } from './sparse-matrix.js';
import { Mask, maskBit } from './mask.js';
import { bitsPerIndexFor, formatNm, MAX_NM_GROUP, nmIndexRowBytes, readPackedIndex, validateNm, writePackedIndex } from './pattern.js';
import type { NmArrays } from '../core/sparse-layout.js';

/** n and m form a valid pattern and m divides cols. */
export function checkNmShape(where: string, rows: number, cols: number, n: number, m: number): void {
  checkMatrixDims(where, rows, cols);
  validateNm(n, m, `${where}: N:M pattern ${n}:${m}`);
  if (cols % m !== 0) {
    throw new ShapeError(
      `${where}: cols (${cols}) is not divisible by M (${m}): ${n}:${m} groups run along each row, ` +
        `so the number of columns must be a multiple of ${m}`,
    );
  }
}

/** Marks a position `pack` filled in to reach n, stored with a zero value. */
const PADDING = 2;

export class NmMatrix extends SparseMatrix<NmArrays> implements NmParts {
  readonly n: number;
  readonly m: number;
  /** f32 [rows, cols / m * n]. */
  readonly values: Tensor<'f32'>;
  /** u8 [rows, indexRowBytes]: packed positions (see the file comment). */
  readonly indices: Tensor<'u8'>;
  readonly bitsPerIndex: number;

  private constructor(rows: number, cols: number, n: number, m: number, values: Float32Array, indices: Uint8Array, backend: Backend) {
    super(rows, cols, countNonzero(values));
    this.n = n;
    this.m = m;
    this.bitsPerIndex = bitsPerIndexFor(m);
    this.values = upload(backend, values, [rows, (cols / m) * n], 'f32');
    this.indices = upload(backend, indices, [rows, nmIndexRowBytes(cols, n, m)], 'u8');
  }

  /** Kept values per row: cols / m * n. */
  get valuesPerRow(): number {
    return (this.cols / this.m) * this.n;
  }

  /** Bytes of packed indices per row. */
  get indexRowBytes(): number {
    return nmIndexRowBytes(this.cols, this.n, this.m);
  }

  get pattern(): string {
    return formatNm(this);
  }

  /**
   * A dense row-major matrix that already is n:m sparse: every group of m must hold at most n
   * nonzeros (an ArgumentError names the first row and group that does not). Groups with
   * fewer are padded with zeros at their lowest unused positions, so each stores exactly n.
   * With a mask, the masked positions are kept instead (values from `data`, zeros included;
   * at most n per group), and the matrix stored is data ⊙ mask.
   */
  static fromDense(
    data: Float32Array,
    rows: number,
    cols: number,
    n: number,
    m: number,
    backend: Backend = getBackend(),
    mask?: Mask,
  ): NmMatrix {
    const where = 'NmMatrix.fromDense';
    checkNmShape(where, rows, cols, n, m);
    checkDense(where, data, rows, cols, mask);
    const keep = mask ? (i: number) => maskBit(mask, i) : (i: number) => data[i] !== 0;
    const what = mask ? 'masked positions' : 'nonzeros';
    return NmMatrix.pack(rows, cols, n, m, data, backend, (start, chosen, row, group) => {
      let count = 0;
      for (let p = 0; p < m; p++) if (keep(start + p)) chosen[p] = ++count <= n ? 1 : 0;
      if (count > n) {
        throw new ArgumentError(
          `${where}: row ${row}, group ${group} (columns ${group * m}..${group * m + m - 1}) has ${count} ${what}, but ${n}:${m} keeps at most ${n} ` +
            `in every ${m}: the matrix is not ${n}:${m} sparse (NmMatrix.fromDenseByMagnitude prunes it to ${n}:${m})`,
        );
      }
    });
  }

  /**
   * Prunes a dense matrix to n:m by magnitude: the n largest |w| of every group are kept (ties
   * go to the lower position), the rest dropped. The plain magnitude criterion of Mishra et al.
   * NaN counts as the largest magnitude, so it stays visible rather than being pruned away.
   */
  static fromDenseByMagnitude(data: Float32Array, rows: number, cols: number, n: number, m: number, backend: Backend = getBackend()): NmMatrix {
    const where = 'NmMatrix.fromDenseByMagnitude';
    checkNmShape(where, rows, cols, n, m);
    checkDense(where, data, rows, cols);
    // |w| compared as its bit pattern: for non-negative IEEE floats the integer order is the value order.
    const magnitude = new Uint32Array(data.buffer, data.byteOffset, data.length);
    const keys = new Float64Array(m);
    return NmMatrix.pack(rows, cols, n, m, data, backend, (start, chosen) => {
      if (n <= 8) {
        // n passes of a max search: O(n m), cheaper than a sort for the usual small n.
        for (let j = 0; j < n; j++) {
          let best = -1;
          let bestMagnitude = -1;
          for (let p = 0; p < m; p++) {
            const a = magnitude[start + p] & 0x7fffffff;
            if (!chosen[p] && a > bestMagnitude) {
              best = p;
              bestMagnitude = a;
            }
          }
          chosen[best] = 1;
        }
      } else {
        // One native numeric sort of keys (largest magnitude first, then lowest position): exact below 2^39.
        for (let p = 0; p < m; p++) keys[p] = (0x7fffffff - (magnitude[start + p] & 0x7fffffff)) * MAX_NM_GROUP + p;
        keys.sort();
        for (let j = 0; j < n; j++) chosen[keys[j] % MAX_NM_GROUP] = 1;
      }
    });
  }

  /** A dense f32 [rows, cols] tensor that already is n:m sparse, on the tensor's backend. */
  static async fromTensor(t: Tensor, n: number, m: number, mask?: Mask): Promise<NmMatrix> {
    checkMatrixTensor('NmMatrix.fromTensor', t);
    const data = (await t.read()) as Float32Array;
    return NmMatrix.fromDense(data, t.shape[0], t.shape[1], n, m, t.backend, mask);
  }

  /**
   * An N:M matrix from host arrays in the storage layout, checked in full: values hold
   * rows * cols / m * n elements, indices rows * indexRowBytes bytes; every group's positions
   * lie in [0, m) and strictly increase; the unused bits at the end of each index row are zero.
   */
  static fromParts(
    rows: number,
    cols: number,
    n: number,
    m: number,
    values: ArrayLike<number>,
    indices: Uint8Array,
    backend: Backend = getBackend(),
  ): NmMatrix {
    const where = 'NmMatrix.fromParts';
    checkNmShape(where, rows, cols, n, m);
    const perRow = (cols / m) * n;
    const rowBytes = nmIndexRowBytes(cols, n, m);
    const bits = bitsPerIndexFor(m);
    checkLength(where, 'values', values.length, rows * perRow);
    checkLength(where, 'indices', indices.length, rows * rowBytes);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < perRow; k++) {
        const p = readPackedIndex(indices, r * rowBytes, k, bits);
        const group = Math.floor(k / n);
        if (p >= m) throw new ArgumentError(`${where}: row ${r}, group ${group} has position ${p}, outside [0, ${m})`);
        if (k % n > 0 && p <= readPackedIndex(indices, r * rowBytes, k - 1, bits)) {
          throw new ArgumentError(`${where}: positions of row ${r}, group ${group} must strictly increase, got ${readPackedIndex(indices, r * rowBytes, k - 1, bits)} then ${p}`);
        }
      }
      const usedBits = perRow * bits;
      if (usedBits % 8 !== 0 && indices[r * rowBytes + rowBytes - 1] >>> (usedBits % 8) !== 0) {
        throw new ArgumentError(`${where}: row ${r} has nonzero padding bits after its last index`);
      }
    }
    return new NmMatrix(rows, cols, n, m, toFloat32(values), indices.slice(), backend);
  }

  /** The stored positions, padding included: exactly n set in every group of m, a valid n:m mask. */
  async toMask(): Promise<Mask> {
    const { indices } = await this.readArrays();
    const mask = new Mask([this.rows, this.cols]);
    const { n, m, bitsPerIndex, valuesPerRow, indexRowBytes } = this;
    for (let r = 0; r < this.rows; r++) {
      for (let k = 0; k < valuesPerRow; k++) {
        mask.set(r * this.cols + Math.floor(k / n) * m + readPackedIndex(indices, r * indexRowBytes, k, bitsPerIndex));
      }
    }
    return mask;
  }

  /** Fraction of elements stored: exactly n / m (0 for an empty matrix). */
  storedDensity(): number {
    return this.rows * this.cols === 0 ? 0 : this.n / this.m;
  }

  /** 1 - n / m for a non-empty matrix: 0.5 for 2:4. */
  storedSparsity(): number {
    return 1 - this.storedDensity();
  }

  /** The tensors holding the parts (tidy() keeps a returned format's parts alive through this). */
  tensors(): Tensor[] {
    return [this.values, this.indices];
  }

  override toString(): string {
    return `NmMatrix(${this.rows} x ${this.cols}, ${this.n}:${this.m}, ${this.backend.name})`;
  }

  /**
   * Packs every group of a dense matrix: `choose` marks the positions to keep with 1 in
   * `chosen` (at most n; cleared before each group), and the lowest unmarked positions pad the
   * group to exactly n with zero values. Values and positions go out in ascending position order.
   */
  private static pack(
    rows: number,
    cols: number,
    n: number,
    m: number,
    data: Float32Array,
    backend: Backend,
    choose: (start: number, chosen: Uint8Array, row: number, group: number) => void,
  ): NmMatrix {
    const groups = cols / m;
    const perRow = groups * n;
    const rowBytes = nmIndexRowBytes(cols, n, m);
    const bits = bitsPerIndexFor(m);
    const values = new Float32Array(rows * perRow);
    const indices = new Uint8Array(rows * rowBytes);
    const chosen = new Uint8Array(m);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        const start = r * cols + g * m;
        chosen.fill(0);
        choose(start, chosen, r, g);
        let count = 0;
        for (let p = 0; p < m; p++) if (chosen[p]) count++;
        for (let p = 0; p < m && count < n; p++) {
          if (!chosen[p]) {
            chosen[p] = PADDING;
            count++;
          }
        }
        let k = g * n;
        for (let p = 0; p < m; p++) {
          if (!chosen[p]) continue;
          values[r * perRow + k] = chosen[p] === PADDING ? 0 : data[start + p];
          writePackedIndex(indices, r * rowBytes, k++, bits, p);
        }
      }
    }
    return new NmMatrix(rows, cols, n, m, values, indices, backend);
  }

  protected arraysFrom([values, indices]: TypedArray[]): NmArrays {
    const { rows, cols, n, m, bitsPerIndex } = this;
    return { rows, cols, n, m, bitsPerIndex, values: values as Float32Array, indices: indices as Uint8Array };
  }

  protected arraysToDense(arrays: NmArrays): Float32Array {
    return nmToDense(arrays);
  }
}

function nmToDense({ rows, cols, n, m, bitsPerIndex, values, indices }: NmArrays): Float32Array {
  const out = new Float32Array(rows * cols);
  const perRow = (cols / m) * n;
  const rowBytes = nmIndexRowBytes(cols, n, m);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < perRow; k++) {
      out[r * cols + Math.floor(k / n) * m + readPackedIndex(indices, r * rowBytes, k, bitsPerIndex)] = values[r * perRow + k];
    }
  }
  return out;
}
