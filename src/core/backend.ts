import type { DType, TypedArray, TypedArrayOf } from './dtype.js';
import type { BinaryOp, ReduceOp, UnaryOp } from './op-table.js';
import type { Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/**
 * Where a tensor's elements live: a region of the WebAssembly heap on the CPU backend, a
 * GPUBuffer on WebGPU. Opaque above the backend; the backend frees it when the last tensor
 * viewing it is disposed (reshape shares storage).
 */
export interface Storage {
  readonly byteLength: number;
}

export interface MatmulOptions {
  /** Use A^T: A is stored [..., K, M]. */
  readonly transposeA?: boolean;
  /** Use B^T: B is stored [..., N, K] (the layout of a Linear weight). */
  readonly transposeB?: boolean;
}

export interface TopK {
  readonly values: Tensor;
  readonly indices: Tensor;
}

/**
 * A CSR matrix's parts as the kernels take them: row pointers (i32), column indices (u16 while
 * cols <= 65536, else i32; ascending within a row), values (f32).
 */
export interface CsrParts {
  readonly rows: number;
  readonly cols: number;
  readonly rowPtr: Tensor;
  readonly colIndices: Tensor;
  readonly values: Tensor;
}

/**
 * One bit per weight plus the kept values (docs/sparse-checkpoint.md's "bitmap"): bit j of byte p
 * of row r's mask stands for column 8p + j; the kept values of row r, in column order, are
 * values[rowPtr[r] .. rowPtr[r + 1]).
 */
export interface BitmapParts {
  readonly rows: number;
  readonly cols: number;
  /** i32 [rows + 1]: the index of each row's first value (derived from the mask, kept for the kernels). */
  readonly rowPtr: Tensor;
  /** u8 [rows, ceil(cols / 8)]; padding bits past cols are 0. */
  readonly mask: Tensor;
  /** f32 [nnz] */
  readonly values: Tensor;
}

/**
 * Block-sparse rows: `blockRows x blockCols` dense blocks. Each block is stored column-major
 * (element (r, c) at c * blockRows + r) because the kernels broadcast x[c] down a block column.
 */
export interface BsrParts {
  readonly rows: number;
  readonly cols: number;
  readonly blockRows: number;
  readonly blockCols: number;
  /** i32 [rows / blockRows + 1] */
  readonly blockRowPtr: Tensor;
  /** i32 [nnzBlocks]: block-column index of each stored block. */
  readonly blockColIndices: Tensor;
  /** f32 [nnzBlocks, blockCols, blockRows] */
  readonly values: Tensor;
}

/** One member of a linearGroup: a dense [rows, cols] weight or a sparse one, by format. */
export type GroupedWeight =
  | { readonly format: 'dense'; readonly weight: Tensor }
  | { readonly format: 'csr'; readonly weight: CsrParts }
  | { readonly format: 'bitmap'; readonly weight: BitmapParts }
  | { readonly format: 'nm'; readonly weight: NmParts }
  | { readonly format: 'bsr'; readonly weight: BsrParts };

/** N:M along the input dimension: `n` values kept in every `m` consecutive weights of a row. */
export interface NmParts {
  readonly rows: number;
  readonly cols: number;
  readonly n: number;
  readonly m: number;
  /** f32 [rows, cols / m * n], the kept values of each group in ascending position. */
  readonly values: Tensor;
  /**
   * u8 [rows, ceil(cols / m * n * bitsPerIndex / 8)]: each kept value's position inside its group,
   * `bitsPerIndex` bits each (2 for m <= 4, 4 for m <= 16, 8 up to m = 256), least significant first.
   */
  readonly indices: Tensor;
  readonly bitsPerIndex: number;
}

/**
 * Scaled dot-product attention of queries against a key/value cache, causal, with grouped-query
 * heads: head h reads KV head floor(h / (heads / kvHeads)).
 */
export interface AttentionOptions {
  /** Cached positions that hold keys/values: rows [0, length) of k and v. */
  readonly length: number;
  /** Absolute position of q's first row; query row t attends to positions <= queryStart + t. */
  readonly queryStart: number;
  /** Multiplier of q.k before the softmax (1 / sqrt(headDim) in Llama). */
  readonly scale: number;
  /**
   * Attend only to these cached positions (i32 [P], ascending, each < length), as a KV-cache
   * policy selects them; the causal limit still applies. All of [0, length) when absent.
   */
  readonly positions?: Tensor;
  /** Sliding-window attention (Mistral): query at position p sees positions > p - window. */
  readonly window?: number | null;
  /**
   * A selection per KV head (i32 [kvHeads, P]): KV head j and the query heads that read it attend
   * only to row j's positions, ascending, each < length; a row keeping fewer than P ends in -1
   * padding. The causal limit and the window still apply. Not together with `positions`.
   */
  readonly positionsPerKvHead?: Tensor;
}

/**
 * Block-sparse attention over a prompt (prefill), as MInference and SeerAttention run it: the
 * queries and keys are cut into blocks of blockQ and blockK positions, and a per-head mask says
 * which (query block, key block) pairs are computed; the others are skipped, not masked after the
 * fact. Within kept blocks the causal limit (key <= query) applies when `causal`. A query row
 * whose kept keys are none gets zeros (no distribution exists; zeros keep a residual stream finite).
 */
export interface BlockSparseAttentionOptions {
  readonly blockQ: number;
  readonly blockK: number;
  /** Multiplier of q.k before the softmax (1 / sqrt(headDim) in Llama). */
  readonly scale: number;
  readonly causal: boolean;
}

/**
 * One interface, many backends (as tfjs-core's KernelBackend and candle's storage traits).
 * Ops are eager and return new tensors; a GPU backend may only enqueue work, so reading
 * values goes through the asynchronous `read`.
 */
export interface Backend {
  readonly name: string;

  // Memory.
  upload(data: TypedArray, dtype: DType): Storage;
  allocate(dtype: DType, size: number): Storage;
  read<D extends DType>(storage: Storage, dtype: D, size: number): Promise<TypedArrayOf<D>>;
  /** Synchronous read, only where the backend can (CPU); undefined elsewhere. */
  readonly readSync?: <D extends DType>(storage: Storage, dtype: D, size: number) => TypedArrayOf<D>;
  release(storage: Storage): void;

  // Elementwise (NumPy broadcasting for binary ops).
  unary(op: UnaryOp, x: Tensor): Tensor;
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor;
  /** y = x * scale + bias, one fused pass. */
  affine(x: Tensor, scale: number, bias: number): Tensor;
  cast(x: Tensor, dtype: DType): Tensor;
  fill(shape: Shape, value: number, dtype: DType): Tensor;

  // Linear algebra. Batch dims broadcast; both operands f32.
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;

  // Normalisation and activation along the last axis unless said.
  softmax(x: Tensor, axis: number): Tensor;
  logSoftmax(x: Tensor, axis: number): Tensor;
  rmsNorm(x: Tensor, weight: Tensor | null, eps: number): Tensor;
  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor;
  /**
   * Rotary position embedding (Su et al. 2021, RoFormer) on the last axis of x [..., T, D]:
   * cos/sin are [T, D/2] tables (built by core/rope.ts). Non-interleaved ("rotate_half", as HF
   * Llama) pairs element i with i + D/2; interleaved pairs 2i with 2i+1 (GPT-J, Meta's original).
   */
  rope(x: Tensor, cos: Tensor, sin: Tensor, interleaved: boolean): Tensor;

  // Indexing and layout.
  /** Rows of `table` [V, D] picked by integer `indices` [...] -> [..., D]. */
  gather(table: Tensor, indices: Tensor): Tensor;
  transpose(x: Tensor, perm: readonly number[]): Tensor;
  slice(x: Tensor, begin: readonly number[], end: readonly number[]): Tensor;
  concat(xs: readonly Tensor[], axis: number): Tensor;

  // Reductions over one axis.
  reduce(op: ReduceOp, x: Tensor, axis: number, keepDims: boolean): Tensor;
  argmax(x: Tensor, axis: number, keepDims: boolean): Tensor;
  /** The k largest along `axis`, sorted descending (ties: lower index first). */
  topk(x: Tensor, k: number, axis: number): TopK;

  /**
   * Attention of q [T, heads, headDim] over k, v [capacity, kvHeads, headDim] (a KV cache, rows
   * beyond options.length unused) -> [T, heads, headDim]. See AttentionOptions.
   */
  attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor;

  /**
   * Copies all of `src` into `dst` from element `dstOffset` on, in place (a KV cache append);
   * same dtype, src.size + dstOffset <= dst.size.
   */
  copyInto(dst: Tensor, dstOffset: number, src: Tensor): void;

  // Sparse weight x dense activation, the layout of a Linear layer: y [.., rows] = x [.., cols] W^T.
  // Optional: a backend without them makes sparse weights fall back to dense.
  readonly linearCsr?: (x: Tensor, w: CsrParts) => Tensor;
  readonly linearBitmap?: (x: Tensor, w: BitmapParts) => Tensor;
  readonly linearBsr?: (x: Tensor, w: BsrParts) => Tensor;
  readonly linearNm?: (x: Tensor, w: NmParts) => Tensor;
  /**
   * Several products sharing one input, y_i = x W_i^T (decode's q/k/v, gate/up), as one job where
   * the backend has a kernel for the case; null where it has none (the caller runs them one by
   * one). Shapes are checked by the caller.
   */
  readonly linearGroup?: (x: Tensor, weights: readonly GroupedWeight[]) => Tensor[] | null;

  /**
   * Block-sparse attention of q [T, heads, headDim] over k, v [T, kvHeads, headDim] with `blocks`
   * u8 [heads, ceil(T / blockQ), ceil(T / blockK)] (1 = compute) -> [T, heads, headDim]. See
   * BlockSparseAttentionOptions. Optional: a backend without it cannot run block-sparse prefill.
   */
  readonly blockSparseAttention?: (q: Tensor, k: Tensor, v: Tensor, blocks: Tensor, options: BlockSparseAttentionOptions) => Tensor;

  /**
   * One query's unscaled dot products with the first `length` cached keys, per query head:
   * q [heads, headDim], k [capacity, kvHeads, headDim] -> [heads, length], head h reading KV head
   * h / (heads / kvHeads). What query-aware KV policies score tokens with (TokenSelect's vote).
   * Optional: policies compute it on the host without it.
   */
  readonly queryKeyLogits?: (q: Tensor, k: Tensor, length: number) => Tensor;

  /** Waits until all queued work has finished (no-op for synchronous backends). */
  sync(): Promise<void>;
  dispose(): void;
}
