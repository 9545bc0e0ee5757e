/**
 * The op functions users call. Each checks its arguments once, here, and dispatches to the
 * tensors' backend, so backends implement kernels and never re-validate.
 */
import type { AttentionOptions, Backend, BlockSparseAttentionOptions, MatmulOptions, TopK } from './backend.js';
import { BYTES_PER_ELEMENT, type DType, type TypedArray, dtypeOfTypedArray } from './dtype.js';
import { getBackend } from './engine.js';
import { ArgumentError, ShapeError, SparsekitError } from './errors.js';
import { BINARY_OPS, type BinaryOp, type ReduceOp, type UnaryOp } from './op-table.js';
import { Random } from './random.js';
import { assertValidShape, broadcastShapes, formatShape, normalizeAxis, type Shape, shapesEqual, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

// ---------------------------------------------------------------- factories

/** A tensor holding a copy of `data` (typed array or nested-free number array). */
export function tensor(
  data: TypedArray | readonly number[],
  shape?: Shape,
  dtype?: DType,
  backend: Backend = getBackend(),
): Tensor {
  const dt: DType = dtype ?? (Array.isArray(data) ? 'f32' : dtypeOfTypedArray(data as TypedArray));
  const typed = toTypedArray(data, dt);
  const sh = shape ?? [typed.length];
  assertValidShape(sh);
  if (sizeOf(sh) !== typed.length) {
    throw new ShapeError(`tensor(): ${typed.length} values do not fill shape ${formatShape(sh)} (${sizeOf(sh)} elements)`);
  }
  return new Tensor(backend, backend.upload(typed, dt), sh, dt);
}

function toTypedArray(data: TypedArray | readonly number[], dtype: DType): TypedArray {
  const want = dtype === 'f32' ? Float32Array : dtype === 'i32' ? Int32Array : dtype === 'u16' ? Uint16Array : Uint8Array;
  if (data instanceof want && (dtype !== 'bool' || data.every((v) => v === 0 || v === 1))) return data;
  if (dtype === 'bool') return Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
  return want.from(data as ArrayLike<number>);
}

export function full(shape: Shape, value: number, dtype: DType = 'f32', backend: Backend = getBackend()): Tensor {
  assertValidShape(shape);
  return backend.fill(shape, value, dtype);
}

export const zeros = (shape: Shape, dtype: DType = 'f32', backend?: Backend): Tensor => full(shape, 0, dtype, backend);
export const ones = (shape: Shape, dtype: DType = 'f32', backend?: Backend): Tensor => full(shape, 1, dtype, backend);

/** Normal(mean, std) values from a seeded generator: the same seed gives the same tensor everywhere. */
export function randomNormal(shape: Shape, seed: number, std = 1, mean = 0, backend?: Backend): Tensor {
  const rng = new Random(seed);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return tensor(data, shape, 'f32', backend);
}

/** Uniform [low, high) values from a seeded generator. */
export function randomUniform(shape: Shape, seed: number, low = 0, high = 1, backend?: Backend): Tensor {
  const rng = new Random(seed);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return tensor(data, shape, 'f32', backend);
}

// ---------------------------------------------------------------- checks

function sameBackend(op: string, ...ts: Tensor[]): Backend {
  const b = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== b) throw new ArgumentError(`${op}: tensors live on different backends (${b.name}, ${t.backend.name})`);
  }
  return b;
}

function requireDType(op: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) throw new ArgumentError(`${op}: dtype ${t.dtype} is not supported (expected ${allowed.join(' or ')})`);
}

function requireRank(op: string, t: Tensor, minRank: number): void {
  if (t.rank < minRank) throw new ShapeError(`${op}: expected rank >= ${minRank}, got shape ${formatShape(t.shape)}`);
}

// ---------------------------------------------------------------- elementwise

export function unary(op: UnaryOp, x: Tensor): Tensor {
  requireDType(op, x, 'f32');
  return x.backend.unary(op, x);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
export const geluTanh = (x: Tensor): Tensor => unary('gelu_tanh', x);

export function binary(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  const bt = typeof b === 'number' ? scalarLike(a, b) : b;
  const backend = sameBackend(op, a, bt);
  if (a.dtype !== bt.dtype) throw new ArgumentError(`${op}: dtypes differ (${a.dtype} vs ${bt.dtype}); cast one first`);
  requireDType(op, a, ...(BINARY_OPS[op].integer ? (['f32', 'i32'] as DType[]) : (['f32'] as DType[])));
  broadcastShapes(a.shape, bt.shape);
  const out = backend.binary(op, a, bt);
  if (bt !== b) bt.dispose();
  return out;
}

function scalarLike(like: Tensor, value: number): Tensor {
  return tensor(like.dtype === 'f32' ? new Float32Array([value]) : new Int32Array([value]), [], like.dtype, like.backend);
}

export const add = (a: Tensor, b: Tensor | number): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor | number): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor | number): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor | number): Tensor => binary('div', a, b);
export const maximum = (a: Tensor, b: Tensor | number): Tensor => binary('max', a, b);
export const minimum = (a: Tensor, b: Tensor | number): Tensor => binary('min', a, b);
export const pow = (a: Tensor, b: Tensor | number): Tensor => binary('pow', a, b);

/** x * scale + bias in one pass. */
export function affine(x: Tensor, scale: number, bias = 0): Tensor {
  requireDType('affine', x, 'f32');
  return x.backend.affine(x, scale, bias);
}

export const scale = (x: Tensor, s: number): Tensor => affine(x, s, 0);

/** A copy converted to `dtype` (floats to integers truncate toward zero; bool is x != 0). */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.backend.cast(x, dtype);
}

// ---------------------------------------------------------------- linear algebra

/**
 * Batched matrix product. A is [..., M, K] (or [..., K, M] with transposeA), B is [..., K, N]
 * (or [..., N, K] with transposeB, the layout of a Linear weight); batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const backend = sameBackend('matmul', a, b);
  requireDType('matmul', a, 'f32');
  requireDType('matmul', b, 'f32');
  requireRank('matmul', a, 2);
  requireRank('matmul', b, 2);
  matmulShape(a.shape, b.shape, options);
  return backend.matmul(a, b, options);
}

export interface MatmulShape {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly batchShape: number[];
}

export function matmulShape(a: Shape, b: Shape, options: MatmulOptions = {}): MatmulShape {
  const [ar, ac] = a.slice(-2);
  const [br, bc] = b.slice(-2);
  const M = options.transposeA ? ac : ar;
  const K = options.transposeA ? ar : ac;
  const Kb = options.transposeB ? bc : br;
  const N = options.transposeB ? br : bc;
  if (K !== Kb) {
    throw new ShapeError(
      `matmul: inner dims differ: A ${formatShape(a)}${options.transposeA ? '^T' : ''} has K=${K}, ` +
        `B ${formatShape(b)}${options.transposeB ? '^T' : ''} has K=${Kb}`,
    );
  }
  return { M, K, N, batchShape: broadcastShapes(a.slice(0, -2), b.slice(0, -2)) };
}

// ---------------------------------------------------------------- normalisation

/** Numerically stable softmax: exp(x - max) / sum, along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  requireDType('softmax', x, 'f32');
  requireRank('softmax', x, 1);
  return x.backend.softmax(x, normalizeAxis(axis, x.rank));
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireDType('logSoftmax', x, 'f32');
  requireRank('logSoftmax', x, 1);
  return x.backend.logSoftmax(x, normalizeAxis(axis, x.rank));
}

function requireLastDimVector(op: string, x: Tensor, v: Tensor | null, name: string): void {
  if (v === null) return;
  sameBackend(op, x, v);
  requireDType(op, v, 'f32');
  if (v.rank !== 1 || v.shape[0] !== x.shape[x.rank - 1]) {
    throw new ShapeError(`${op}: ${name} must be [${x.shape[x.rank - 1]}], got ${formatShape(v.shape)}`);
  }
}

/** RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight, over the last axis. */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-6): Tensor {
  requireDType('rmsNorm', x, 'f32');
  requireRank('rmsNorm', x, 1);
  requireLastDimVector('rmsNorm', x, weight, 'weight');
  return x.backend.rmsNorm(x, weight, eps);
}

/** LayerNorm (Ba et al. 2016) over the last axis, biased variance as PyTorch. */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  requireDType('layerNorm', x, 'f32');
  requireRank('layerNorm', x, 1);
  requireLastDimVector('layerNorm', x, weight, 'weight');
  requireLastDimVector('layerNorm', x, bias, 'bias');
  return x.backend.layerNorm(x, weight, bias, eps);
}

/** Rotary embedding of x [..., T, D] with cos/sin tables [T, D/2] (see core/rope.ts). */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, interleaved = false): Tensor {
  sameBackend('rope', x, cos, sin);
  requireDType('rope', x, 'f32');
  requireRank('rope', x, 2);
  const [T, D] = x.shape.slice(-2);
  if (D % 2 !== 0) throw new ShapeError(`rope: last dim must be even, got ${D}`);
  for (const [name, t] of [['cos', cos], ['sin', sin]] as const) {
    if (t.rank !== 2 || t.shape[0] !== T || t.shape[1] !== D / 2) {
      throw new ShapeError(`rope: ${name} must be [${T}, ${D / 2}], got ${formatShape(t.shape)}`);
    }
  }
  return x.backend.rope(x, cos, sin, interleaved);
}

// ---------------------------------------------------------------- indexing and layout

/** Embedding lookup: rows of table [V, D] at integer indices [...] -> [..., D]. */
export function gather(table: Tensor, indices: Tensor): Tensor {
  sameBackend('gather', table, indices);
  requireRank('gather', table, 2);
  requireDType('gather', indices, 'i32', 'u16', 'u8');
  return table.backend.gather(table, indices);
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? [...x.shape.keys()].reverse();
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError(`transpose: [${p.join(', ')}] is not a permutation of ${x.rank} axes`);
  }
  return x.backend.transpose(x, p);
}

/** Elements begin[i] <= j < end[i] on each axis (end exclusive); negative bounds count from the end; missing ones take the whole axis. */
export function slice(x: Tensor, begin: readonly number[], end?: readonly number[]): Tensor {
  if (begin.length > x.rank || (end && end.length > x.rank)) throw new ShapeError(`slice: more bounds than the rank ${x.rank}`);
  const b: number[] = [];
  const e: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const d = x.shape[i];
    let lo = begin[i] ?? 0;
    let hi = end?.[i] ?? d;
    if (lo < 0) lo += d;
    if (hi < 0) hi += d;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > d || lo > hi) {
      throw new ShapeError(`slice: axis ${i} bounds [${begin[i]}, ${end?.[i]}) are invalid for size ${d}`);
    }
    b.push(lo);
    e.push(hi);
  }
  return x.backend.slice(x, b, e);
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('concat: no tensors');
  const backend = sameBackend('concat', ...xs);
  const first = xs[0];
  const ax = normalizeAxis(axis, first.rank);
  for (const t of xs) {
    if (t.dtype !== first.dtype) throw new ArgumentError(`concat: dtypes differ (${first.dtype} vs ${t.dtype})`);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(`concat: ${formatShape(t.shape)} does not match ${formatShape(first.shape)} outside axis ${ax}`);
    }
  }
  return backend.concat(xs, ax);
}

// ---------------------------------------------------------------- reductions

export function reduce(op: ReduceOp, x: Tensor, axis = -1, keepDims = false): Tensor {
  requireDType(op, x, 'f32', 'i32');
  requireRank(op, x, 1);
  if (op === 'mean') requireDType(op, x, 'f32');
  return x.backend.reduce(op, x, normalizeAxis(axis, x.rank), keepDims);
}

export const sum = (x: Tensor, axis = -1, keepDims = false): Tensor => reduce('sum', x, axis, keepDims);
export const mean = (x: Tensor, axis = -1, keepDims = false): Tensor => reduce('mean', x, axis, keepDims);
export const max = (x: Tensor, axis = -1, keepDims = false): Tensor => reduce('max', x, axis, keepDims);
export const min = (x: Tensor, axis = -1, keepDims = false): Tensor => reduce('min', x, axis, keepDims);

export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  requireDType('argmax', x, 'f32', 'i32');
  requireRank('argmax', x, 1);
  return x.backend.argmax(x, normalizeAxis(axis, x.rank), keepDims);
}

/** The k largest values along `axis`, descending, with their indices (i32). */
export function topk(x: Tensor, k: number, axis = -1): TopK {
  requireDType('topk', x, 'f32', 'i32');
  requireRank('topk', x, 1);
  const ax = normalizeAxis(axis, x.rank);
  if (!Number.isInteger(k) || k < 0 || k > x.shape[ax]) {
    throw new ArgumentError(`topk: k=${k} must be an integer in [0, ${x.shape[ax]}]`);
  }
  return x.backend.topk(x, k, ax);
}

/** Bytes a tensor's elements take. */
export function tensorBytes(t: Tensor): number {
  return t.size * BYTES_PER_ELEMENT[t.dtype];
}

// ---------------------------------------------------------------- attention and caches

/**
 * Causal attention of q [T, heads, headDim] over a KV cache k, v [capacity, kvHeads, headDim]
 * (grouped-query: heads a multiple of kvHeads) -> [T, heads, headDim]. See AttentionOptions.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
  const backend = sameBackend('attention', q, k, v);
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    requireDType('attention', t, 'f32');
    if (t.rank !== 3) throw new ShapeError(`attention: ${name} must be rank 3, got ${formatShape(t.shape)}`);
  }
  const [, heads, headDim] = q.shape;
  const [capacity, kvHeads, kd] = k.shape;
  if (!shapesEqual(v.shape, k.shape)) throw new ShapeError(`attention: v ${formatShape(v.shape)} must match k ${formatShape(k.shape)}`);
  if (kd !== headDim) throw new ShapeError(`attention: q has head dim ${headDim}, the cache ${kd}`);
  if (kvHeads === 0 || heads % kvHeads !== 0) throw new ShapeError(`attention: ${heads} query heads are not a multiple of ${kvHeads} KV heads`);
  const { length, queryStart, scale, positions, window } = options;
  if (!Number.isInteger(length) || length < 0 || length > capacity) throw new ArgumentError(`attention: length ${length} outside [0, ${capacity}]`);
  if (!Number.isInteger(queryStart) || queryStart < 0) throw new ArgumentError(`attention: queryStart ${queryStart} must be a non-negative integer`);
  if (!Number.isFinite(scale)) throw new ArgumentError(`attention: scale ${scale} must be finite`);
  if (window !== undefined && window !== null && (!Number.isInteger(window) || window < 1)) throw new ArgumentError(`attention: window ${window} must be a positive integer`);
  if (positions) {
    sameBackend('attention', q, positions);
    requireDType('attention', positions, 'i32');
    if (positions.rank !== 1) throw new ShapeError(`attention: positions must be rank 1, got ${formatShape(positions.shape)}`);
  }
  const perKvHead = options.positionsPerKvHead;
  if (perKvHead) {
    if (positions) throw new ArgumentError('attention: positions and positionsPerKvHead exclude each other (one list for all heads, or one per KV head)');
    sameBackend('attention', q, perKvHead);
    requireDType('attention', perKvHead, 'i32');
    if (perKvHead.rank !== 2 || perKvHead.shape[0] !== kvHeads) {
      throw new ShapeError(`attention: positionsPerKvHead must be [kvHeads=${kvHeads}, P], got ${formatShape(perKvHead.shape)}`);
    }
  }
  return backend.attention(q, k, v, options);
}

/**
 * Block-sparse prefill attention of q [T, heads, headDim] over k, v [T, kvHeads, headDim]: only
 * the (query block, key block) pairs that `blocks` (u8 [heads, ceil(T / blockQ), ceil(T / blockK)],
 * 1 = compute) keeps are computed; query rows with no kept key get zeros. See
 * BlockSparseAttentionOptions.
 */
export function blockSparseAttention(q: Tensor, k: Tensor, v: Tensor, blocks: Tensor, options: BlockSparseAttentionOptions): Tensor {
  const op = 'blockSparseAttention';
  const backend = sameBackend(op, q, k, v, blocks);
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    requireDType(op, t, 'f32');
    if (t.rank !== 3) throw new ShapeError(`${op}: ${name} must be rank 3, got ${formatShape(t.shape)}`);
  }
  const [T, heads, headDim] = q.shape;
  const [Tk, kvHeads, kd] = k.shape;
  if (!shapesEqual(v.shape, k.shape)) throw new ShapeError(`${op}: v ${formatShape(v.shape)} must match k ${formatShape(k.shape)}`);
  if (Tk !== T) throw new ShapeError(`${op}: q has ${T} positions, k and v ${Tk} (prefill attends within one prompt)`);
  if (kd !== headDim) throw new ShapeError(`${op}: q has head dim ${headDim}, k ${kd}`);
  if (kvHeads === 0 || heads % kvHeads !== 0) throw new ShapeError(`${op}: ${heads} query heads are not a multiple of ${kvHeads} KV heads`);
  const { blockQ, blockK, scale } = options;
  for (const [name, b] of [['blockQ', blockQ], ['blockK', blockK]] as const) {
    if (!Number.isInteger(b) || b < 1) throw new ArgumentError(`${op}: ${name} ${b} must be a positive integer`);
  }
  if (!Number.isFinite(scale)) throw new ArgumentError(`${op}: scale ${scale} must be finite`);
  requireDType(op, blocks, 'u8', 'bool');
  const maskShape = [heads, Math.ceil(T / blockQ), Math.ceil(T / blockK)];
  if (!shapesEqual(blocks.shape, maskShape)) throw new ShapeError(`${op}: blocks must be ${formatShape(maskShape)} (heads, query blocks, key blocks), got ${formatShape(blocks.shape)}`);
  if (!backend.blockSparseAttention) throw new SparsekitError('E_UNSUPPORTED', `${op} is not supported on ${backend.name}`);
  return backend.blockSparseAttention(q, k, v, blocks, options);
}

/** Copies src into dst from element dstOffset on, in place (dst is changed). */
export function copyInto(dst: Tensor, dstOffset: number, src: Tensor): void {
  const backend = sameBackend('copyInto', dst, src);
  if (dst.dtype !== src.dtype) throw new ArgumentError(`copyInto: dtypes differ (${dst.dtype} vs ${src.dtype})`);
  if (!Number.isInteger(dstOffset) || dstOffset < 0 || dstOffset + src.size > dst.size) {
    throw new ShapeError(`copyInto: ${src.size} elements at offset ${dstOffset} do not fit a tensor of ${dst.size}`);
  }
  backend.copyInto(dst, dstOffset, src);
}
