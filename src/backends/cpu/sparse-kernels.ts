/**
 * Sparse weight x dense activation products on the CPU backend (the Linear layout,
 * y [.., rows] = x [.., cols] W^T), choosing per format and batch size between the gathering
 * kernels (one activation row) and the tiled ones (several rows, over a transposed copy of x).
 */
import type { BitmapParts, BsrParts, CsrParts, NmParts } from '../../core/backend.js';
import { SparsekitError } from '../../core/errors.js';
import { CSR_U16_MAX_COLS } from '../../core/sparse-layout.js';
import { sizeOf } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { CpuBackend } from './cpu-backend.js';
import { type KernelName, X_STAGING_FLOATS } from './kernels.js';
import { linearBsrReference } from './reference/sparse-linear.js';
import { evenBounds, prefixBalancedBounds } from './thread-pool.js';

/** Below this many multiply-adds a product runs on the calling thread alone. */
const PARALLEL_MIN_MACS = 1 << 15;
/** Batch columns per tile of the transposed activations (transpose.ts). */
const TILE = 16;

/** A weight's row pointers, read once: its stored entries, and its rows in partitions of equal entries. */
interface RowSplit {
  readonly entries: number;
  readonly bounds: readonly number[];
}

export class SparseKernels {
  /**
   * Row splits by the row-pointer tensor, computed on a weight's first product: weights do not
   * change, and after a product has streamed megabytes through the caches, the binary searches
   * over 4096 row pointers cost about 7 us a call, mostly cache misses (CSR 4096x4096 at 90%,
   * about 300 us a call).
   */
  private readonly rowSplits = new WeakMap<Tensor, RowSplit>();

  constructor(private readonly cpu: CpuBackend) {}

  private get threads(): number {
    return this.cpu.pool.threads;
  }

  private run(kernel: KernelName, args: readonly number[], bounds: readonly number[]): void {
    this.cpu.pool.run(kernel, args, bounds);
  }

  /** x [.., K] as [M, K] plus the output tensor [.., N]; with K = 0 the output is zeros (an empty sum) and M = 0, so callers return it as is. */
  private prepare(x: Tensor, N: number): { M: number; K: number; y: Tensor } {
    const K = x.shape[x.rank - 1];
    const lead = x.rank === 2 ? null : x.shape.slice(0, -1); // [M, K], the common case, without copies
    const y = this.cpu.empty(lead ? [...lead, N] : [x.shape[0], N], 'f32');
    if (K === 0) {
      this.cpu.view(y).fill(0);
      return { M: 0, K, y };
    }
    return { M: lead ? sizeOf(lead) : x.shape[0], K, y };
  }

  /** Row bounds for threads x 4 partitions (of equal entries with a split), or one when the work is too small to share. */
  private rowBounds(rows: number, macs: number, split?: RowSplit): readonly number[] {
    if (this.threads === 1 || macs < PARALLEL_MIN_MACS) return [0, rows];
    return split ? split.bounds : evenBounds(rows, this.threads * 4);
  }

  /** The entries of the weight whose row pointers (rows + 1 of them) are `rowPtr`, and its rows split by them. */
  rowSplit(rowPtr: Tensor, rows: number): RowSplit {
    let split = this.rowSplits.get(rowPtr);
    if (!split) {
      const prefix = this.cpu.view(rowPtr) as Int32Array;
      split = { entries: prefix[rows], bounds: prefixBalancedBounds(prefix, rows, this.threads * 4) };
      this.rowSplits.set(rowPtr, split);
    }
    return split;
  }

  /** Packs x [M, K] into tiles of 16 batch columns, xt[tile][k][16]; the caller frees it. */
  private packTiles(x: Tensor, M: number, K: number): number {
    const tiles = Math.ceil(M / TILE);
    const xt = this.cpu.heap.alloc(tiles * K * TILE * 4);
    const bounds = M * K < PARALLEL_MIN_MACS ? [0, K] : evenBounds(K, this.threads);
    this.run('pack_x_tiles16', [this.cpu.offsetOf(x), xt, M, K], bounds);
    return xt;
  }

  /** Copies one activation row (f32) to the fixed address csr_spmv_staged gathers from (see csr.ts). */
  stageX(x: Tensor, K: number): void {
    const from = this.cpu.offsetOf(x) >> 2;
    this.cpu.heap.f32.copyWithin(this.cpu.xStagingOffset >> 2, from, from + K);
  }

  /** Stages one activation row for bitmap_spmv: x, then zeros up to the mask's 8 columns per byte. */
  stageXPadded(x: Tensor, K: number, maskBytes: number): void {
    this.stageX(x, K);
    const staging = this.cpu.xStagingOffset >> 2;
    this.cpu.heap.f32.fill(0, staging + K, staging + maskBytes * 8);
  }

  /** The 2:4 batch-1 kernel's table of x's kept-pair sums (nm.ts, 576 bytes per 8 columns); the caller frees it. */
  quadTable24(x: Tensor, K: number): number {
    const positions = Math.floor(K / 8);
    const table = this.cpu.heap.alloc(Math.max(1, positions) * 576);
    const tableBounds = positions * 144 < PARALLEL_MIN_MACS ? [0, positions] : evenBounds(positions, this.threads);
    this.run('quad_table_24', [this.cpu.offsetOf(x), table, K], tableBounds);
    return table;
  }

  csr(x: Tensor, w: CsrParts): Tensor {
    const { M, K, y } = this.prepare(x, w.rows);
    if (M === 0 || w.rows === 0) return y;
    const split = this.rowSplit(w.rowPtr, w.rows);
    const narrow = w.colIndices.dtype === 'u16';
    const parts = [this.cpu.offsetOf(w.rowPtr), this.cpu.offsetOf(w.colIndices), this.cpu.offsetOf(w.values)];
    const bounds = this.rowBounds(w.rows, split.entries * M, split);
    if (M === 1 && narrow) {
      this.stageX(x, K);
      this.run('csr_spmv_staged', [...parts, this.cpu.offsetOf(y)], bounds);
      return y;
    }
    if (M === 1) {
      this.run('csr_spmv_i32', [...parts, this.cpu.offsetOf(x), this.cpu.offsetOf(y)], bounds);
      return y;
    }
    const xt = this.packTiles(x, M, K);
    try {
      this.run(narrow ? 'csr_spmm_u16' : 'csr_spmm_i32', [...parts, xt, this.cpu.offsetOf(y), M, w.rows, K], bounds);
    } finally {
      this.cpu.heap.free(xt);
    }
    return y;
  }

  /**
   * Bitmap weights: one activation row through bitmap_spmv (values expanded by their mask bits
   * against contiguous activations); several rows through bitmap_spmm (column indices decoded a
   * block of rows at a time into each thread's scratch, then CSR's tiled loop). Beyond 65536
   * columns (u16 indices), the columns of the whole weight are decoded to i32 for this call and
   * the CSR kernels run on them.
   */
  bitmap(x: Tensor, w: BitmapParts): Tensor {
    const { M, K, y } = this.prepare(x, w.rows);
    if (M === 0 || w.rows === 0) return y;
    const maskBytes = Math.ceil(K / 8);
    const [ptr, mask, values] = [w.rowPtr, w.mask, w.values].map((t) => this.cpu.offsetOf(t));
    if (M === 1 && maskBytes * 8 <= X_STAGING_FLOATS) {
      this.stageXPadded(x, K, maskBytes);
      this.run('bitmap_spmv', [ptr, mask, values, this.cpu.offsetOf(y), maskBytes], this.rowBounds(w.rows, w.rows * K));
      return y;
    }
    const split = this.rowSplit(w.rowPtr, w.rows);
    if (M > 1 && K <= CSR_U16_MAX_COLS) {
      const xt = this.packTiles(x, M, K);
      try {
        const args = [ptr, mask, values, xt, this.cpu.offsetOf(y), M, w.rows, K, maskBytes, this.cpu.gemmScratchOffset, this.cpu.gemmScratchStride];
        this.run('bitmap_spmm', args, this.rowBounds(w.rows, split.entries * M, split));
      } finally {
        this.cpu.heap.free(xt);
      }
      return y;
    }
    const wide = K > CSR_U16_MAX_COLS ? 1 : 0;
    // Sized from the row pointers themselves, not the remembered split: the kernel writes one index per entry.
    const nnz = (this.cpu.view(w.rowPtr) as Int32Array)[w.rows];
    const columns = this.cpu.heap.alloc(Math.max(1, nnz) * (wide ? 4 : 2));
    try {
      this.run('bitmap_columns', [ptr, mask, columns, maskBytes, wide], this.rowBounds(w.rows, nnz, split));
      const bounds = this.rowBounds(w.rows, nnz * M, split);
      if (M === 1) {
        this.run('csr_spmv_i32', [ptr, columns, values, this.cpu.offsetOf(x), this.cpu.offsetOf(y)], bounds);
        return y;
      }
      const xt = this.packTiles(x, M, K);
      try {
        this.run(wide ? 'csr_spmm_i32' : 'csr_spmm_u16', [ptr, columns, values, xt, this.cpu.offsetOf(y), M, w.rows, K], bounds);
      } finally {
        this.cpu.heap.free(xt);
      }
      return y;
    } finally {
      this.cpu.heap.free(columns);
    }
  }

  nm(x: Tensor, w: NmParts): Tensor {
    const { M, K, y } = this.prepare(x, w.rows);
    if (M === 0 || w.rows === 0) return y;
    const vals = this.cpu.offsetOf(w.values);
    const meta = this.cpu.offsetOf(w.indices);
    const bounds = this.rowBounds(w.rows, (w.rows * K * w.n * M) / w.m);
    if (M === 1 && w.n === 2 && w.m === 4) {
      const table = this.quadTable24(x, K);
      try {
        this.run('nm24_spmv', [vals, meta, table, this.cpu.offsetOf(x), this.cpu.offsetOf(y), K], bounds);
      } finally {
        this.cpu.heap.free(table);
      }
      return y;
    }
    if (M === 1 && w.n === 4 && w.m === 8 && w.bitsPerIndex === 4) {
      this.run('nm48_spmv', [vals, meta, this.cpu.offsetOf(x), this.cpu.offsetOf(y), K], bounds);
      return y;
    }
    if (M === 1) {
      this.run('nm_spmv', [vals, meta, this.cpu.offsetOf(x), this.cpu.offsetOf(y), K, w.rows, w.n, w.m, w.bitsPerIndex, 1], bounds);
      return y;
    }
    const xt = this.packTiles(x, M, K);
    try {
      // Each thread decodes blocks of rows' columns (u16 each; at least 16 rows fit) into its GEMM packing scratch.
      const kept = (K / w.m) * w.n;
      if (K > 65536 || 16 * kept * 2 > this.cpu.gemmScratchStride) {
        throw new SparsekitError('E_SHAPE', `N:M weights with ${K} input columns exceed the batched kernel's limits (65536 columns)`);
      }
      const args = [vals, meta, xt, this.cpu.offsetOf(y), M, w.rows, K, w.n, w.m, w.bitsPerIndex, this.cpu.gemmScratchOffset, this.cpu.gemmScratchStride];
      this.run('nm_spmm', args, bounds);
    } finally {
      this.cpu.heap.free(xt);
    }
    return y;
  }

  bsr(x: Tensor, w: BsrParts): Tensor {
    const { M, K, y } = this.prepare(x, w.rows);
    if (M === 0 || w.rows === 0) return y;
    const blockRows = w.rows / w.blockRows;
    if (w.blockRows % 4 !== 0) {
      // The SIMD kernels walk a block's columns four outputs at a time; other heights take the reference.
      const arrays = {
        ...w,
        blockRowPtr: this.cpu.view(w.blockRowPtr) as Int32Array,
        blockColIndices: this.cpu.view(w.blockColIndices) as Int32Array,
        values: this.cpu.view(w.values) as Float32Array,
      };
      (this.cpu.view(y) as Float32Array).set(linearBsrReference(this.cpu.view(x) as Float32Array, M, arrays));
      return y;
    }
    const split = this.rowSplit(w.blockRowPtr, blockRows);
    const bounds = this.rowBounds(blockRows, split.entries * w.blockRows * w.blockCols * M, split);
    const parts = [this.cpu.offsetOf(w.blockRowPtr), this.cpu.offsetOf(w.blockColIndices), this.cpu.offsetOf(w.values)];
    if (M === 1) {
      this.run('bsr_spmv', [...parts, this.cpu.offsetOf(x), this.cpu.offsetOf(y), K, w.rows, w.blockRows, w.blockCols, 1], bounds);
      return y;
    }
    const xt = this.packTiles(x, M, K);
    try {
      this.run('bsr_spmm', [...parts, xt, this.cpu.offsetOf(y), M, w.rows, K, w.blockRows, w.blockCols], bounds);
    } finally {
      this.cpu.heap.free(xt);
    }
    return y;
  }
}
