/**
 * The WebGPU backend: a GPUBuffer per tensor, every op a WGSL compute shader. Ops only record
 * work (queue.ts) and return tensors at once; read() and sync() are where the caller waits, and
 * where errors raised on the GPU side are reported. Shape logic lives here, shaders in shaders/.
 */
import type { AttentionOptions, Backend, MatmulOptions, Storage, TopK } from '../../core/backend.js';
import { SparsekitError } from '../../core/errors.js';
import { allocTypedArray, BYTES_PER_ELEMENT, type DType, type TypedArray, type TypedArrayOf, typedArrayView } from '../../core/dtype.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../../core/op-table.js';
import { matmulShape } from '../../core/ops.js';
import { broadcastShapes, type Shape, sizeOf, stridesOf } from '../../core/shape.js';
import { Tensor } from '../../core/tensor.js';
import { axisSplit } from '../cpu/reference/normalization.js';
import { BufferUsage, paddedSize, WebGpuStorage } from './buffers.js';
import { Dispatcher } from './pipelines.js';
import { CommandQueue, gatherCheck, webgpuError } from './queue.js';
import { attentionKernel } from './shaders/attention.js';
import { affineKernel, binaryKernel, castKernel, fillKernel, unaryKernel } from './shaders/elementwise.js';
import { concatPartKernel, gatherKernel, gatherReportKernel, stridedCopyKernel } from './shaders/layout.js';
import { matmulKernel } from './shaders/matmul.js';
import { layerNormKernel, reduceKernel, rmsNormKernel, type RowShape, selectKernel, softmaxKernel } from './shaders/rows.js';
import { ropeKernel } from './shaders/rope.js';

/** Where the device came from; the backend keeps these alive as long as itself. */
export interface WebGpuOrigin {
  readonly adapter?: GPUAdapter;
  /**
   * Dawn for Node destroys its instance, and every device made from it, when the GPU object
   * is garbage-collected: holding it here keeps the device usable while the backend is.
   */
  readonly gpu?: GPU;
}

export interface WebGpuBackendSettings {
  /**
   * Cap on workgroups per dispatch dimension, at most the device's maxComputeWorkgroupsPerDimension
   * (the default). Lower values only serve to test the 2-D dispatch path on small tensors.
   */
  readonly maxWorkgroupsPerDimension?: number;
}

/** What an empty axis reduces to, as the references give it (typed-array stores turn +-Infinity into 0 for i32). */
const EMPTY_REDUCTION: Record<ReduceOp, number> = { sum: 0, mean: NaN, max: -Infinity, min: Infinity };

const TENSOR_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter | null;
  /** The adapter's description, for logs ("google swiftshader" on Chromium's software fallback). */
  readonly adapterInfo: string;
  /** Held so that it lives as long as the device (see WebGpuOrigin.gpu): Dawn tears down when its GPU object is collected. */
  readonly gpu: GPU | null;
  private readonly queue: CommandQueue;
  private readonly dispatcher: Dispatcher;
  /** Largest buffer a kernel can bind. */
  private readonly maxBytes: number;
  private disposed = false;

  constructor(device: GPUDevice, origin: WebGpuOrigin = {}, settings: WebGpuBackendSettings = {}) {
    this.device = device;
    this.adapter = origin.adapter ?? null;
    this.gpu = origin.gpu ?? null;
    const info = origin.adapter?.info;
    this.adapterInfo = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    this.queue = new CommandQueue(device);
    const limit = device.limits.maxComputeWorkgroupsPerDimension;
    this.dispatcher = new Dispatcher(device, this.queue, Math.max(1, Math.min(limit, settings.maxWorkgroupsPerDimension ?? limit)));
    this.maxBytes = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
  }

  /** Shader variants compiled so far. */
  get pipelineCount(): number {
    return this.dispatcher.pipelineCount;
  }

  // ------------------------------------------------------------ memory

  allocate(dtype: DType, size: number): WebGpuStorage {
    if (this.disposed) throw webgpuError('the backend was disposed');
    const bytes = size * BYTES_PER_ELEMENT[dtype];
    if (paddedSize(bytes) > this.maxBytes) {
      throw webgpuError(`a ${dtype} tensor of ${size} elements (${bytes} bytes) exceeds this device's largest storage binding (${this.maxBytes} bytes)`);
    }
    return new WebGpuStorage(this.device.createBuffer({ size: paddedSize(bytes), usage: TENSOR_USAGE }), bytes);
  }

  upload(data: TypedArray, dtype: DType): WebGpuStorage {
    const storage = this.allocate(dtype, data.length);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength === 0) return storage;
    // writeBuffer moves whole words: pad u8/u16/bool tails (the padding is never read back).
    const words = bytes.byteLength % 4 === 0 ? bytes : padded(bytes);
    this.device.queue.writeBuffer(storage.buffer, 0, words);
    return storage;
  }

  async read<D extends DType>(storage: Storage, dtype: D, size: number): Promise<TypedArrayOf<D>> {
    const bytes = size * BYTES_PER_ELEMENT[dtype];
    const data = await this.queue.finish(bytes > 0 ? { buffer: (storage as WebGpuStorage).buffer, bytes } : undefined);
    return data ? typedArrayView(dtype, data, 0, size) : allocTypedArray(dtype, 0);
  }

  release(storage: Storage): void {
    this.queue.discard((storage as WebGpuStorage).buffer);
  }

  private empty<D extends DType>(shape: Shape, dtype: D): Tensor<D> {
    return new Tensor(this, this.allocate(dtype, sizeOf(shape)), shape, dtype);
  }

  // ------------------------------------------------------------ elementwise

  unary(op: UnaryOp, x: Tensor): Tensor {
    const out = this.empty(x.shape, 'f32');
    this.dispatcher.run(unaryKernel(op, buf(x), buf(out), x.size));
    return out;
  }

  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    const shape = broadcastShapes(a.shape, b.shape);
    const out = this.empty(shape, a.dtype);
    const dtype = a.dtype === 'i32' ? 'i32' : 'f32'; // ops.ts admits f32, and i32 for integer ops
    this.dispatcher.run(binaryKernel(op, dtype, { buffer: buf(a), shape: a.shape }, { buffer: buf(b), shape: b.shape }, buf(out), shape));
    return out;
  }

  affine(x: Tensor, scale: number, bias: number): Tensor {
    const out = this.empty(x.shape, 'f32');
    this.dispatcher.run(affineKernel(buf(x), buf(out), x.size, scale, bias));
    return out;
  }

  cast(x: Tensor, dtype: DType): Tensor {
    const out = this.empty(x.shape, dtype);
    if (x.size === 0) return out;
    if (x.dtype === dtype) {
      this.queue.commands().copyBufferToBuffer(buf(x), 0, buf(out), 0, paddedSize(x.size * BYTES_PER_ELEMENT[dtype]));
      this.queue.opRecorded();
    } else {
      this.dispatcher.run(castKernel(buf(x), x.dtype, buf(out), dtype, x.size));
    }
    return out;
  }

  fill(shape: Shape, value: number, dtype: DType): Tensor {
    const out = this.empty(shape, dtype);
    // The value as the CPU backend stores it (typed-array conversion), repeated over a word.
    const word = allocTypedArray(dtype, 4 / BYTES_PER_ELEMENT[dtype]);
    word.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
    const words = Math.ceil((out.size * BYTES_PER_ELEMENT[dtype]) / 4);
    this.dispatcher.run(fillKernel(buf(out), words, new Uint32Array(word.buffer)[0]));
    return out;
  }

  // ------------------------------------------------------------ linear algebra

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const { M, N, K, batchShape } = matmulShape(a.shape, b.shape, options);
    const out = this.empty([...batchShape, M, N], 'f32');
    if (out.size === 0) return out;
    this.dispatcher.run(
      matmulKernel({
        a: buf(a),
        b: buf(b),
        c: buf(out),
        aShape: a.shape,
        bShape: b.shape,
        batchShape,
        M,
        N,
        K,
        transposeA: options.transposeA ?? false,
        transposeB: options.transposeB ?? false,
      }),
    );
    return out;
  }

  // ------------------------------------------------------------ normalisation

  softmax(x: Tensor, axis: number): Tensor {
    return this.softmaxLike(x, axis, false);
  }

  logSoftmax(x: Tensor, axis: number): Tensor {
    return this.softmaxLike(x, axis, true);
  }

  private softmaxLike(x: Tensor, axis: number, log: boolean): Tensor {
    const out = this.empty(x.shape, 'f32');
    if (x.size > 0) this.dispatcher.run(softmaxKernel(buf(x), buf(out), rowShape(x.shape, axis), log));
    return out;
  }

  rmsNorm(x: Tensor, weight: Tensor | null, eps: number): Tensor {
    const out = this.empty(x.shape, 'f32');
    const n = x.shape[x.rank - 1];
    if (x.size > 0) this.dispatcher.run(rmsNormKernel(buf(x), weight && buf(weight), buf(out), x.size / n, n, eps));
    return out;
  }

  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
    const out = this.empty(x.shape, 'f32');
    const n = x.shape[x.rank - 1];
    if (x.size > 0) this.dispatcher.run(layerNormKernel(buf(x), weight && buf(weight), bias && buf(bias), buf(out), x.size / n, n, eps));
    return out;
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, interleaved: boolean): Tensor {
    const out = this.empty(x.shape, 'f32');
    const [T, D] = x.shape.slice(-2);
    if (x.size > 0) this.dispatcher.run(ropeKernel(buf(x), buf(cos), buf(sin), buf(out), x.size, T, D, interleaved));
    return out;
  }

  // ------------------------------------------------------------ layout

  gather(table: Tensor, indices: Tensor): Tensor {
    const [V, D] = table.shape;
    const out = this.empty([...indices.shape, D], table.dtype);
    if (out.size === 0) return out;
    // [first bad position, its index]; read back at the next wait (queue.ts).
    const check = this.device.createBuffer({ size: 8, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, label: 'gather check' });
    this.device.queue.writeBuffer(check, 0, Uint32Array.of(0xffffffff, 0)); // lands before the batch that uses it
    this.dispatcher.run(
      gatherKernel({ tableDtype: table.dtype, table: buf(table), indexDtype: indices.dtype, indices: buf(indices), out: buf(out), check, V, D, count: indices.size }),
    );
    this.dispatcher.run(gatherReportKernel(indices.dtype, buf(indices), check));
    this.queue.addCheck(gatherCheck(check, V));
    return out;
  }

  transpose(x: Tensor, perm: readonly number[]): Tensor {
    const out = this.empty(
      perm.map((p) => x.shape[p]),
      x.dtype,
    );
    const strides = stridesOf(x.shape);
    this.dispatcher.run(stridedCopyKernel(x.dtype, buf(x), buf(out), out.shape, perm.map((p) => strides[p]), 0));
    return out;
  }

  slice(x: Tensor, begin: readonly number[], end: readonly number[]): Tensor {
    const out = this.empty(
      begin.map((b, i) => end[i] - b),
      x.dtype,
    );
    const strides = stridesOf(x.shape);
    const base = begin.reduce((s, b, i) => s + b * strides[i], 0);
    this.dispatcher.run(stridedCopyKernel(x.dtype, buf(x), buf(out), out.shape, strides, base));
    return out;
  }

  concat(xs: readonly Tensor[], axis: number): Tensor {
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((s, t) => s + t.shape[axis], 0);
    const out = this.empty(shape, xs[0].dtype);
    const inner = sizeOf(shape.slice(axis + 1));
    const row = shape[axis] * inner;
    let offset = 0;
    for (const x of xs) {
      const chunk = x.shape[axis] * inner;
      if (x.size > 0) this.dispatcher.run(concatPartKernel(out.dtype, buf(x), buf(out), out.size, row, offset, chunk));
      offset += chunk;
    }
    return out;
  }

  // ------------------------------------------------------------ reductions

  reduce(op: ReduceOp, x: Tensor, axis: number, keepDims: boolean): Tensor {
    const shape = reducedShape(x.shape, axis, keepDims);
    const rows = rowShape(x.shape, axis);
    if (rows.n === 0) return this.fill(shape, EMPTY_REDUCTION[op], x.dtype);
    const out = this.empty(shape, x.dtype);
    if (out.size > 0) this.dispatcher.run(reduceKernel(op, x.dtype === 'i32' ? 'i32' : 'f32', buf(x), buf(out), rows));
    return out;
  }

  argmax(x: Tensor, axis: number, keepDims: boolean): Tensor {
    const shape = reducedShape(x.shape, axis, keepDims);
    const rows = rowShape(x.shape, axis);
    if (rows.n === 0) return this.fill(shape, 0, 'i32');
    const out = this.empty(shape, 'i32');
    if (out.size > 0) this.dispatcher.run(selectKernel(x.dtype === 'i32' ? 'i32' : 'f32', buf(x), null, buf(out), rows, 1));
    return out;
  }

  topk(x: Tensor, k: number, axis: number): TopK {
    const shape = [...x.shape];
    shape[axis] = k;
    const values = this.empty(shape, x.dtype);
    const indices = this.empty(shape, 'i32');
    if (values.size > 0) {
      this.dispatcher.run(selectKernel(x.dtype === 'i32' ? 'i32' : 'f32', buf(x), buf(values), buf(indices), rowShape(x.shape, axis), k));
    }
    return { values, indices };
  }

  // ------------------------------------------------------------ attention and caches

  /** One workgroup per (query row, head), streaming the cache in chunks (shaders/attention.ts). */
  attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
    if (options.positionsPerKvHead) throw new SparsekitError('E_UNSUPPORTED', 'attention with positionsPerKvHead is not supported on webgpu (one positions list for all heads is)');
    const [T, heads, headDim] = q.shape;
    const out = this.empty(q.shape, 'f32');
    if (out.size === 0) return out;
    const { positions } = options;
    // The shader's u32 arithmetic takes the same visible positions from small numbers: a query
    // start past the cache moves back to its end with the window shortened alike, and a window
    // longer than every query position is no window.
    let { length, queryStart } = options;
    let window = options.window ?? 0;
    if (queryStart > length) {
      const shift = queryStart - length;
      queryStart = length;
      if (window > shift) window -= shift;
      else if (window > 0) length = queryStart = window = 0; // the window lies wholly past the cache
    }
    if (window >= queryStart + T) window = 0;
    this.dispatcher.run(
      attentionKernel({
        q: buf(q),
        k: buf(k),
        v: buf(v),
        out: buf(out),
        positions: positions ? buf(positions) : null,
        count: positions ? positions.size : 0,
        T,
        heads,
        kvHeads: k.shape[1],
        headDim,
        length,
        queryStart,
        scale: options.scale,
        window,
      }),
    );
    return out;
  }

  copyInto(dst: Tensor, dstOffset: number, src: Tensor): void {
    const width = BYTES_PER_ELEMENT[src.dtype];
    const offset = dstOffset * width;
    const bytes = src.size * width;
    if (bytes === 0) return;
    if (offset % 4 !== 0 || bytes % 4 !== 0) {
      throw new SparsekitError('E_UNSUPPORTED', `copyInto on WebGPU needs 4-byte aligned offsets and sizes (got ${offset} and ${bytes} bytes)`);
    }
    this.queue.commands().copyBufferToBuffer(buf(src), 0, buf(dst), offset, bytes);
    this.queue.opRecorded();
  }

  // ------------------------------------------------------------ lifetime

  async sync(): Promise<void> {
    await this.queue.finish();
  }

  dispose(): void {
    if (this.disposed) return;
    this.queue.flush();
    this.disposed = true;
    this.device.destroy();
  }
}

function buf(t: Tensor): GPUBuffer {
  return (t.storage as WebGpuStorage).buffer;
}

function padded(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(paddedSize(bytes.byteLength));
  out.set(bytes);
  return out;
}

function rowShape(shape: Shape, axis: number): RowShape {
  const [outer, n, inner] = axisSplit(shape, axis);
  return { outer, n, inner };
}

function reducedShape(shape: Shape, axis: number, keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}
