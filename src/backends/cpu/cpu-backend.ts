/**
 * The CPU backend: tensors live in one WebAssembly memory (heap.ts); the hot kernels (GEMM,
 * GEMV, softmax, sparse products) run as WebAssembly SIMD across worker threads that share it
 * (thread-pool.ts); the other ops run their plain TypeScript reference on views of the same memory.
 */
import type { AttentionOptions, Backend, BitmapParts, BlockSparseAttentionOptions, BsrParts, CsrParts, GroupedWeight, MatmulOptions, NmParts, Storage, TopK } from '../../core/backend.js';
import { BYTES_PER_ELEMENT, type DType, type TypedArray, type TypedArrayOf } from '../../core/dtype.js';
import { SparsekitError } from '../../core/errors.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../../core/op-table.js';
import { matmulShape } from '../../core/ops.js';
import { broadcastShapes, type Shape, sizeOf } from '../../core/shape.js';
import { Tensor } from '../../core/tensor.js';
import { WasmHeap } from './heap.js';
import { KERNEL_NAMES, type KernelModuleExports, X_STAGING_FLOATS } from './kernels.js';
import { LinearGroupKernels } from './linear-group.js';
import { planMatmul } from './matmul-plan.js';
import type { CpuPlatform, SimdVariant } from './platform.js';
import { affineReference, binaryReference, castReference, unaryReference } from './reference/elementwise.js';
import { concatReference, gatherReference, sliceReference, transposeReference } from './reference/layout.js';
import {
  axisSplit,
  layerNormReference,
  rmsNormReference,
  ropeReference,
  softmaxReference,
} from './reference/normalization.js';
import { argmaxReference, reduceReference, topkReference } from './reference/reduce.js';
import { SparseKernels } from './sparse-kernels.js';
import {
  CONTROL_BLOCK_BYTES,
  evenBounds,
  instantiateKernels,
  type KernelFunction,
  MAX_PARTITIONS,
  prefixBalancedBounds,
  ThreadPool,
  type WorkerHandle,
} from './thread-pool.js';

export interface CpuBackendOptions {
  /** Threads to run kernels on, the calling one included (default: all logical cores). */
  readonly threads?: number;
  /** Kernel build: 'auto' picks relaxed SIMD where the engine has it. */
  readonly simd?: SimdVariant | 'auto';
}

/** A block of the heap. */
export class CpuStorage implements Storage {
  constructor(
    readonly offset: number,
    readonly byteLength: number,
  ) {}
}

const HEAP_BASE = 1 << 20; // below: the kernels' static data and the thread pool's control block
const INITIAL_PAGES = 256; // 16 MiB
const MAX_PAGES = 65536; // 4 GiB, all a 32-bit memory can address
/**
 * Below this many q.k multiply-adds attention runs on the calling thread alone. In decode each
 * layer's cache is cold (the weights streamed through since), so both cores pay off early:
 * 14 layers of 12 heads x 64 over 128 positions took 302 us from 2^14 on against 427 us at the
 * former 2^17 (64 positions: 187 against 240 us); at 16 and 32 positions both measure 126-151 us.
 */
const ATTENTION_PARALLEL_MIN_MACS = 1 << 14;
/** Below this many elements SiLU runs on the calling thread alone (a decode step's 2-11K). */
const SILU_PARALLEL_MIN = 1 << 16;

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly heap: WasmHeap;
  readonly pool: ThreadPool;
  readonly simd: SimdVariant;
  /** Per-thread GEMM packing buffers. */
  readonly gemmScratchOffset: number;
  readonly gemmScratchStride: number;
  /** Byte offset of the batch-1 activation staging area (csr_spmv_staged). */
  readonly xStagingOffset: number;
  /** Rows of one word per candidate that the attention kernel needs per thread, by query heads per KV head. */
  private readonly attentionScratchRows: (group: number) => number;
  /** Scratch bytes per thread of the block-sparse attention kernel, by block sizes. */
  private readonly blockSparseScratchBytes: (blockQ: number, blockK: number, headDim: number) => number;
  private readonly sparse: SparseKernels;
  private readonly groups: LinearGroupKernels;

  private constructor(heap: WasmHeap, pool: ThreadPool, simd: SimdVariant, exports: KernelModuleExports) {
    this.heap = heap;
    this.pool = pool;
    this.simd = simd;
    this.gemmScratchStride = exports.gemm_scratch_bytes();
    this.xStagingOffset = exports.x_staging_offset();
    exports.bitmap_table_init();
    this.attentionScratchRows = exports.attention_scratch_rows;
    this.blockSparseScratchBytes = exports.block_sparse_scratch_bytes;
    this.gemmScratchOffset = heap.alloc(this.gemmScratchStride * pool.threads);
    this.sparse = new SparseKernels(this);
    this.groups = new LinearGroupKernels(this, this.sparse);
  }

  static async create(platform: CpuPlatform, options: CpuBackendOptions = {}): Promise<CpuBackend> {
    const wanted = options.simd ?? 'auto';
    const simd: SimdVariant = wanted === 'auto' ? (platform.supportsRelaxedSimd() ? 'relaxed' : 'simd') : wanted;
    if (simd === 'relaxed' && wanted === 'relaxed' && !platform.supportsRelaxedSimd()) {
      throw new SparsekitError('E_WASM', 'relaxed SIMD was asked for but this JavaScript engine does not support it');
    }
    const shared = platform.sharedMemory;
    const module = await platform.loadKernels(simd, shared);
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
    const exports = await instantiateKernels(module, memory);
    const direct = exports as unknown as KernelModuleExports;
    // Memory map: [static data][control block] ... [x staging, 256 KiB] ... [heap from 1 MiB].
    const controlOffset = Math.ceil(direct.static_data_end() / 64) * 64;
    const staging = direct.x_staging_offset();
    if (controlOffset + CONTROL_BLOCK_BYTES > staging || staging + X_STAGING_FLOATS * 4 > HEAP_BASE) {
      throw new SparsekitError('E_WASM', 'kernel static data, control block, staging area and heap overlap');
    }
    const threads = Math.max(1, Math.floor(options.threads ?? platform.hardwareThreads));
    const workerCount = shared ? threads - 1 : 0;
    const workers: WorkerHandle[] = await Promise.all(
      Array.from({ length: workerCount }, (_, i) =>
        platform.startWorker({ module, memory, controlOffset, threadIndex: i + 1 }),
      ),
    );
    const pool = new ThreadPool(memory, controlOffset, exports as Record<string, KernelFunction>, KERNEL_NAMES, workers, platform.canBlock);
    return new CpuBackend(new WasmHeap(memory, HEAP_BASE), pool, simd, direct);
  }

  // ------------------------------------------------------------ memory

  allocate(dtype: DType, size: number): CpuStorage {
    const bytes = size * BYTES_PER_ELEMENT[dtype];
    return new CpuStorage(this.heap.alloc(bytes), bytes);
  }

  upload(data: TypedArray, dtype: DType): CpuStorage {
    const s = this.allocate(dtype, data.length);
    this.heap.view(dtype, s.offset, data.length).set(data);
    return s;
  }

  read<D extends DType>(storage: Storage, dtype: D, size: number): Promise<TypedArrayOf<D>> {
    return Promise.resolve(this.readSync(storage, dtype, size));
  }

  readonly readSync = <D extends DType>(storage: Storage, dtype: D, size: number): TypedArrayOf<D> =>
    this.heap.view(dtype, (storage as CpuStorage).offset, size).slice() as TypedArrayOf<D>;

  release(storage: Storage): void {
    this.heap.free((storage as CpuStorage).offset);
  }

  /** A live view of a tensor's elements in the heap (no copy). For kernels and CPU-side algorithms. */
  view<D extends DType>(t: Tensor<D>): TypedArrayOf<D> {
    return this.heap.view(t.dtype, (t.storage as CpuStorage).offset, t.size);
  }

  /** Byte offset of a tensor's elements in the heap, as kernels take it. */
  offsetOf(t: Tensor): number {
    return (t.storage as CpuStorage).offset;
  }

  /** A new uninitialised tensor on this backend. */
  empty<D extends DType>(shape: Shape, dtype: D): Tensor<D> {
    return new Tensor(this, this.allocate(dtype, sizeOf(shape)), shape, dtype);
  }

  // ------------------------------------------------------------ elementwise

  unary(op: UnaryOp, x: Tensor): Tensor {
    const out = this.empty(x.shape, 'f32');
    if (op === 'silu' && x.size > 0) {
      // SIMD (wasm/activation.ts): SwiGLU's gate, every layer; Math.exp per element cost 8-40 us at 2048.
      const bounds = x.size < SILU_PARALLEL_MIN ? [0, x.size] : evenBounds(x.size, this.pool.threads * 2, 4);
      this.pool.run('silu_f32', [this.offsetOf(x), this.offsetOf(out)], bounds);
      return out;
    }
    unaryReference(op, this.view(x) as Float32Array, this.view(out));
    return out;
  }

  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    const shape = broadcastShapes(a.shape, b.shape);
    const out = this.empty(shape, a.dtype);
    binaryReference(op, this.view(a), a.shape, this.view(b), b.shape, this.view(out), shape);
    return out;
  }

  affine(x: Tensor, scale: number, bias: number): Tensor {
    const out = this.empty(x.shape, 'f32');
    affineReference(this.view(x) as Float32Array, scale, bias, this.view(out));
    return out;
  }

  cast(x: Tensor, dtype: DType): Tensor {
    const out = this.empty(x.shape, dtype);
    castReference(this.view(x), dtype, this.view(out));
    return out;
  }

  fill(shape: Shape, value: number, dtype: DType): Tensor {
    const out = this.empty(shape, dtype);
    this.view(out).fill(dtype === 'bool' ? (value ? 1 : 0) : value);
    return out;
  }

  // ------------------------------------------------------------ linear algebra

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const { M, N, batchShape } = matmulShape(a.shape, b.shape, options);
    const out = this.empty([...batchShape, M, N], 'f32');
    for (const call of planMatmul(this, a, b, out, options)) this.pool.run(call.kernel, call.args, call.bounds);
    return out;
  }

  // ------------------------------------------------------------ normalisation

  softmax(x: Tensor, axis: number): Tensor {
    return this.softmaxAlong(x, axis, false);
  }

  logSoftmax(x: Tensor, axis: number): Tensor {
    return this.softmaxAlong(x, axis, true);
  }

  /** The last axis (attention scores, logits) runs the SIMD kernel over rows; other axes the reference. */
  private softmaxAlong(x: Tensor, axis: number, log: boolean): Tensor {
    const out = this.empty(x.shape, 'f32');
    const [outer, n, inner] = axisSplit(x.shape, axis);
    if (inner !== 1 || n === 0) {
      softmaxReference(this.view(x) as Float32Array, this.view(out), outer, n, inner, log);
      return out;
    }
    const bounds = x.size < 1 << 15 ? [0, outer] : evenBounds(outer, this.pool.threads * 2);
    this.pool.run('softmax_rows', [this.offsetOf(x), this.offsetOf(out), n, log ? 1 : 0], bounds);
    return out;
  }

  rmsNorm(x: Tensor, weight: Tensor | null, eps: number): Tensor {
    const out = this.empty(x.shape, 'f32');
    rmsNormReference(this.view(x) as Float32Array, weight && (this.view(weight) as Float32Array), eps, this.view(out), x.shape[x.rank - 1]);
    return out;
  }

  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
    const out = this.empty(x.shape, 'f32');
    const w = weight && (this.view(weight) as Float32Array);
    const b = bias && (this.view(bias) as Float32Array);
    layerNormReference(this.view(x) as Float32Array, w, b, eps, this.view(out), x.shape[x.rank - 1]);
    return out;
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, interleaved: boolean): Tensor {
    const out = this.empty(x.shape, 'f32');
    const [T, D] = x.shape.slice(-2);
    ropeReference(this.view(x) as Float32Array, this.view(cos) as Float32Array, this.view(sin) as Float32Array, this.view(out), T, D, interleaved);
    return out;
  }

  // ------------------------------------------------------------ layout

  gather(table: Tensor, indices: Tensor): Tensor {
    const [V, D] = table.shape;
    const out = this.empty([...indices.shape, D], table.dtype);
    gatherReference(this.view(table), V, D, this.view(indices), this.view(out));
    return out;
  }

  transpose(x: Tensor, perm: readonly number[]): Tensor {
    const out = this.empty(perm.map((p) => x.shape[p]), x.dtype);
    transposeReference(this.view(x), x.shape, perm, this.view(out));
    return out;
  }

  slice(x: Tensor, begin: readonly number[], end: readonly number[]): Tensor {
    const out = this.empty(begin.map((b, i) => end[i] - b), x.dtype);
    sliceReference(this.view(x), x.shape, begin, end, this.view(out));
    return out;
  }

  concat(xs: readonly Tensor[], axis: number): Tensor {
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((s, t) => s + t.shape[axis], 0);
    const out = this.empty(shape, xs[0].dtype);
    concatReference(xs.map((t) => ({ data: this.view(t), shape: t.shape })), axis, this.view(out));
    return out;
  }

  // ------------------------------------------------------------ reductions

  reduce(op: ReduceOp, x: Tensor, axis: number, keepDims: boolean): Tensor {
    const [outer, n, inner] = axisSplit(x.shape, axis);
    const out = this.empty(reducedShape(x.shape, axis, keepDims), x.dtype);
    reduceReference(op, this.view(x), outer, n, inner, this.view(out));
    return out;
  }

  argmax(x: Tensor, axis: number, keepDims: boolean): Tensor {
    const [outer, n, inner] = axisSplit(x.shape, axis);
    const out = this.empty(reducedShape(x.shape, axis, keepDims), 'i32');
    argmaxReference(this.view(x), outer, n, inner, this.view(out));
    return out;
  }

  topk(x: Tensor, k: number, axis: number): TopK {
    const [outer, n, inner] = axisSplit(x.shape, axis);
    const shape = [...x.shape];
    shape[axis] = k;
    const values = this.empty(shape, x.dtype);
    const indices = this.empty(shape, 'i32');
    topkReference(this.view(x), outer, n, inner, k, this.view(values), this.view(indices));
    return { values, indices };
  }

  // ------------------------------------------------------------ attention and caches

  /**
   * The SIMD kernel (wasm/attention.ts) over (query row, head) pairs r = t * heads + h. Later
   * causal rows cost more, so there are four partitions a thread, taken from the pool's shared
   * counter. The kernel runs heads that share a KV head together (one read of the cache for all),
   * so partitions keep such groups whole, or halves of them where whole groups would leave threads idle.
   */
  attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
    const [T, heads, headDim] = q.shape;
    const kvHeads = k.shape[1];
    const out = this.empty(q.shape, 'f32');
    if (out.size === 0) return out;
    const { length, queryStart, scale, window } = options;
    // One list for all heads, or one per KV head (rows of positionsPerKvHead, listStride apart).
    const positions = options.positions ?? options.positionsPerKvHead;
    const listStride = options.positionsPerKvHead ? options.positionsPerKvHead.shape[1] : 0;
    const candidates = positions ? (listStride || positions.size) : length;
    const rows = T * heads;
    const threads = this.pool.threads;
    let bounds = [0, rows];
    if (threads > 1 && rows > 1 && rows * candidates * headDim >= ATTENTION_PARALLEL_MIN_MACS) {
      let unit = heads / kvHeads;
      while (unit % 2 === 0 && rows / unit < threads) unit /= 2;
      if (rows / unit < threads) unit = 1;
      bounds = evenBounds(rows, Math.min(MAX_PARTITIONS, threads * 4), unit);
    }
    // Per thread: the visible positions and score rows, one word per candidate each.
    const stride = Math.ceil(Math.max(1, candidates) / 16) * 16;
    const blocks = bounds.length > 2 ? threads : 1;
    const scratch = this.heap.alloc(blocks * this.attentionScratchRows(heads / kvHeads) * stride * 4);
    const args = [
      ...[q, k, v, out].map((t) => this.offsetOf(t)),
      positions ? this.offsetOf(positions) : 0,
      positions ? (listStride || positions.size) : 0,
      listStride,
      ...[heads, kvHeads, headDim, length, queryStart, scale, window ?? 0, scratch, stride],
    ];
    try {
      this.pool.run('attention_f32', args, bounds);
    } finally {
      this.heap.free(scratch);
    }
    return out;
  }

  /** out [heads, length] = q [heads, D] . k [t, kv head of h, D] (wasm/query-key-logits.ts), threads over positions. */
  queryKeyLogits(q: Tensor, k: Tensor, length: number): Tensor {
    const [heads, D] = q.shape;
    const [capacity, kvHeads, kD] = k.shape;
    if (q.rank !== 2 || k.rank !== 3 || kD !== D || heads % kvHeads !== 0 || !Number.isInteger(length) || length < 0 || length > capacity) {
      throw new SparsekitError('E_SHAPE', `queryKeyLogits: q [heads, D] and k [capacity, kvHeads, D] with heads a multiple of kvHeads and length <= capacity, got q [${q.shape}], k [${k.shape}], length ${length}`);
    }
    const out = this.empty([heads, length], 'f32');
    if (length === 0) return out;
    const serial = this.pool.threads === 1 || heads * length * D < ATTENTION_PARALLEL_MIN_MACS;
    const bounds = serial ? [0, length] : evenBounds(length, this.pool.threads * 4, 4);
    this.pool.run('query_key_logits_f32', [this.offsetOf(q), this.offsetOf(k), this.offsetOf(out), heads, kvHeads, D, length], bounds);
    return out;
  }

  /**
   * The block-sparse kernel (wasm/sparse-attention.ts) over items (head, query block), h-major as
   * the mask's rows. Items cost their kept key blocks (causal ones past the diagonal never run),
   * so partitions are balanced on that count, four a thread, taken from the pool's shared counter.
   */
  blockSparseAttention(q: Tensor, k: Tensor, v: Tensor, blocks: Tensor, options: BlockSparseAttentionOptions): Tensor {
    const [T, heads, headDim] = q.shape;
    const out = this.empty(q.shape, 'f32');
    if (out.size === 0) return out;
    const { blockQ, blockK, scale, causal } = options;
    const qBlocks = Math.ceil(T / blockQ);
    const kBlocks = Math.ceil(T / blockK);
    const mask = this.view(blocks);
    const items = heads * qBlocks;
    const prefix = new Float64Array(items + 1);
    for (let item = 0; item < items; item++) {
      const lastKb = causal ? Math.floor(((item % qBlocks) * blockQ + Math.min(blockQ, T - (item % qBlocks) * blockQ) - 1) / blockK) : kBlocks - 1;
      let kept = 0;
      for (let kb = 0, row = item * kBlocks; kb <= lastKb; kb++) kept += mask[row + kb] ? 1 : 0;
      prefix[item + 1] = prefix[item] + kept;
    }
    const threads = this.pool.threads;
    const macs = prefix[items] * blockQ * blockK * headDim;
    const bounds = threads > 1 && items > 1 && macs >= ATTENTION_PARALLEL_MIN_MACS ? prefixBalancedBounds(prefix, items, Math.min(MAX_PARTITIONS, threads * 4)) : [0, items];
    const blocksUsed = bounds.length > 2 ? threads : 1;
    const scratch = this.heap.alloc(blocksUsed * this.blockSparseScratchBytes(blockQ, blockK, headDim));
    const args = [...[q, k, v, out, blocks].map((t) => this.offsetOf(t)), T, heads, k.shape[1], headDim, blockQ, blockK, scale, causal ? 1 : 0, scratch];
    try {
      this.pool.run('block_sparse_attention_f32', args, bounds);
    } finally {
      this.heap.free(scratch);
    }
    return out;
  }

  copyInto(dst: Tensor, dstOffset: number, src: Tensor): void {
    this.view(dst).set(this.view(src), dstOffset);
  }

  // ------------------------------------------------------------ sparse

  readonly linearCsr = (x: Tensor, w: CsrParts): Tensor => this.sparse.csr(x, w);
  readonly linearBitmap = (x: Tensor, w: BitmapParts): Tensor => this.sparse.bitmap(x, w);
  readonly linearBsr = (x: Tensor, w: BsrParts): Tensor => this.sparse.bsr(x, w);
  readonly linearNm = (x: Tensor, w: NmParts): Tensor => this.sparse.nm(x, w);
  readonly linearGroup = (x: Tensor, weights: readonly GroupedWeight[]): Tensor[] | null => this.groups.run(x, weights);

  sync(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.pool.close();
  }
}

function reducedShape(shape: Shape, axis: number, keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}
