/**
 * The WebGPU checks, run inside the browser page (webgpu.test.ts imports this module there).
 * Each case builds seeded inputs, runs the op through core/ops.ts on the WebGPU backend and the
 * CPU reference on the same values, and returns measurements; Node asserts on them, so the
 * tolerances live in the test file. Browser-safe: no Node imports.
 */
import type { Backend } from '../../src/core/backend.js';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { ATTENTION_CHUNK } from '../../src/backends/webgpu/shaders/attention.js';
import { attentionReference } from '../../src/backends/cpu/reference/attention.js';
import { affineReference, binaryReference, castReference, unaryReference } from '../../src/backends/cpu/reference/elementwise.js';
import { concatReference, gatherReference, sliceReference, transposeReference } from '../../src/backends/cpu/reference/layout.js';
import { matmulReference } from '../../src/backends/cpu/reference/matmul.js';
import { axisSplit, layerNormReference, rmsNormReference, ropeReference, softmaxReference } from '../../src/backends/cpu/reference/normalization.js';
import { argmaxReference, reduceReference, topkReference } from '../../src/backends/cpu/reference/reduce.js';
import { allocTypedArray, DTYPES, type DType, type TypedArray } from '../../src/core/dtype.js';
import { SparsekitError } from '../../src/core/errors.js';
import { BINARY_OPS, type BinaryOp, REDUCE_OPS, UNARY_OPS, type UnaryOp } from '../../src/core/op-table.js';
import * as ops from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import { broadcastShapes, type Shape, sizeOf } from '../../src/core/shape.js';
import type { Tensor } from '../../src/core/tensor.js';
import { relativeError } from '../helpers/numeric.js';

/** One measurement. `error`: norm-wise relative error; `mismatches`: elements not bit-identical (NaN = NaN). */
export interface Check {
  readonly what: string;
  readonly error?: number;
  readonly mismatches?: number;
  /** Code of the SparsekitError thrown where one was expected ('none' when nothing was thrown). */
  readonly thrown?: string;
  readonly expected?: string;
  /** An unexpected exception. */
  readonly failure?: string;
}

export interface CaseResult {
  readonly name: string;
  readonly checks: readonly Check[];
  readonly ms: number;
}

type Case = (b: WebGpuBackend) => Promise<Check[]>;

// ---------------------------------------------------------------- helpers

function normal(n: number, seed: number, std = 1, mean = 0): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => mean + std * rng.normal());
}

function uniform(n: number, seed: number, low: number, high: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => low + (high - low) * rng.uniform());
}

function ints(n: number, seed: number, low: number, high: number): Int32Array {
  const rng = new Random(seed);
  return Int32Array.from({ length: n }, () => low + rng.int(high - low));
}

function put(b: WebGpuBackend, data: TypedArray, shape: Shape, dtype?: DType): Tensor {
  return ops.tensor(data, shape, dtype, b);
}

/** Compares t's values with `want` by norm-wise relative error, and the shape. */
async function close(what: string, t: Tensor, want: ArrayLike<number>, wantShape?: Shape): Promise<Check> {
  const got = await t.read();
  if (wantShape && t.shape.join() !== wantShape.join()) return { what, failure: `shape [${t.shape}] != [${wantShape}]` };
  return { what, error: relativeError(got, want) };
}

/** Counts elements that differ (NaN matches NaN), with the shape and dtype. */
async function exact(what: string, t: Tensor, want: TypedArray, wantShape?: Shape, wantDtype?: DType): Promise<Check> {
  if (wantShape && t.shape.join() !== wantShape.join()) return { what, failure: `shape [${t.shape}] != [${wantShape}]` };
  if (wantDtype && t.dtype !== wantDtype) return { what, failure: `dtype ${t.dtype} != ${wantDtype}` };
  const got = await t.read();
  if (got.length !== want.length) return { what, failure: `length ${got.length} != ${want.length}` };
  let mismatches = 0;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) mismatches++;
  return { what, mismatches };
}

/** Runs `fn` expecting a SparsekitError with `code` (synchronously or from the returned promise). */
async function throws(what: string, code: string, fn: () => unknown): Promise<Check> {
  try {
    await fn();
    return { what, thrown: 'none', expected: code };
  } catch (e) {
    return { what, thrown: e instanceof SparsekitError ? e.code : `non-SparsekitError: ${String(e)}`, expected: code };
  }
}

const f32 = (n: number): Float32Array => new Float32Array(n);

// ---------------------------------------------------------------- cases

const memory: Case = async (b) => {
  const checks: Check[] = [];
  const samples: [DType, TypedArray][] = [
    ['f32', Float32Array.of(1.5, -0, NaN, Infinity, -3.25e-38, 7)],
    ['i32', Int32Array.of(-2147483648, 2147483647, 0, -1, 5)],
    ['u16', Uint16Array.of(65535, 0, 1, 258, 4097)],
    ['u8', Uint8Array.of(255, 0, 7)],
    ['bool', Uint8Array.of(1, 0, 1, 1, 0, 1, 0)],
  ];
  for (const [dtype, data] of samples) {
    for (const n of [0, 1, data.length]) {
      const part = data.subarray(0, n);
      checks.push(await exact(`${dtype}[${n}] round trip`, put(b, part, [n], dtype), part));
    }
  }
  // Bit patterns survive (a NaN payload, -0).
  const bits = Uint32Array.of(0x7fc00001, 0x80000000, 0xff800000);
  const got = new Uint32Array((await put(b, new Float32Array(bits.buffer), [3]).read()).buffer);
  checks.push({ what: 'f32 bit patterns', mismatches: bits.filter((v, i) => v !== got[i]).length });
  checks.push(await exact('scalar', put(b, Float32Array.of(42), []), Float32Array.of(42), []));
  const big = ops.tensor(f32(0), [0, 5], 'f32', b);
  checks.push(await exact('empty [0, 5]', big, f32(0), [0, 5]));
  checks.push({ what: 'no synchronous read', mismatches: (b as Backend).readSync === undefined ? 0 : 1 });
  return checks;
};

const UNARY_DOMAIN: Partial<Record<UnaryOp, [number, number]>> = {
  log: [0.01, 20],
  sqrt: [0, 20],
  rsqrt: [0.01, 20],
  reciprocal: [0.1, 10],
  exp: [-20, 20],
  sin: [-10, 10],
  cos: [-10, 10],
  tanh: [-12, 12],
  sigmoid: [-30, 30],
  silu: [-30, 30],
  gelu: [-8, 8],
  gelu_tanh: [-12, 12],
};

const unary: Case = async (b) => {
  const checks: Check[] = [];
  for (const op of Object.keys(UNARY_OPS) as UnaryOp[]) {
    const [low, high] = UNARY_DOMAIN[op] ?? [-5, 5];
    for (const shape of [[7, 33], [], [1], [0, 4]] as Shape[]) {
      // A lone element is a plain value: in the negative tail, gelu's 1 + erf(x) (and gelu_tanh's
      // 1 + tanh) cancel in f32, and over one element the norm-wise error is that element's own.
      const x = sizeOf(shape) > 1 ? uniform(sizeOf(shape), 11, low, high) : new Float32Array(sizeOf(shape)).fill(0.75);
      const want = f32(x.length);
      unaryReference(op, x, want);
      checks.push(await close(`${op} [${shape}]`, ops.unary(op, put(b, x, shape)), want, shape));
    }
  }
  // erf_approx across its branches (|x|/sqrt2 below 0.46875, up to 4, beyond), densely, and near 0 where relative accuracy matters.
  const grid = Float32Array.from({ length: 4001 }, (_, i) => -10 + i * 0.005);
  const want = f32(grid.length);
  unaryReference('gelu', grid, want);
  checks.push(await close('gelu on a dense grid [-10, 10]', ops.gelu(put(b, grid, [grid.length])), want));
  const tiny = Float32Array.from({ length: 201 }, (_, i) => (i - 100) * 1e-3);
  const tinyWant = f32(tiny.length);
  unaryReference('gelu', tiny, tinyWant);
  checks.push(await close('gelu near 0', ops.gelu(put(b, tiny, [tiny.length])), tinyWant));
  return checks;
};

const BROADCASTS: [Shape, Shape][] = [
  [[2, 3], [2, 3]],
  [[3, 1, 5], [4, 1]],
  [[4, 1], [3, 1, 5]],
  [[], [4]],
  [[5], []],
  [[], []],
  [[1], [1]],
  [[2, 1, 4, 1], [3, 1, 5]],
  [[6, 7], [7]],
  [[6, 7], [6, 1]],
  [[0, 3], [1, 3]],
];

const binary: Case = async (b) => {
  const checks: Check[] = [];
  for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
    for (const [sa, sb] of BROADCASTS) {
      const shape = broadcastShapes(sa, sb);
      // Positive operands keep pow real; b away from 0 keeps div finite.
      const a = op === 'pow' ? uniform(sizeOf(sa), 1, 0.1, 3) : normal(sizeOf(sa), 1);
      const bv = op === 'pow' ? uniform(sizeOf(sb), 2, -2, 2) : op === 'div' ? uniform(sizeOf(sb), 2, 0.5, 2) : normal(sizeOf(sb), 2);
      const want = f32(sizeOf(shape));
      binaryReference(op, a, sa, bv, sb, want, shape);
      checks.push(await close(`${op} f32 [${sa}] [${sb}]`, ops.binary(op, put(b, a, sa), put(b, bv, sb)), want, shape));
      if (BINARY_OPS[op].integer) {
        const ia = ints(sizeOf(sa), 3, -1000, 1000);
        const ib = ints(sizeOf(sb), 4, -1000, 1000);
        const iwant = new Int32Array(sizeOf(shape));
        binaryReference(op, ia, sa, ib, sb, iwant, shape);
        checks.push(await exact(`${op} i32 [${sa}] [${sb}]`, ops.binary(op, put(b, ia, sa), put(b, ib, sb)), iwant, shape, 'i32'));
      }
    }
  }
  // i32 wraps as the typed-array store does.
  const big = Int32Array.of(2147483647, -2147483648);
  const wrapped = new Int32Array(2);
  binaryReference('add', big, [2], Int32Array.of(1), [1], wrapped, [2]);
  checks.push(await exact('i32 add wraps', ops.add(put(b, big, [2]), put(b, Int32Array.of(1), [1])), wrapped));
  return checks;
};

const affineAndFill: Case = async (b) => {
  const checks: Check[] = [];
  const x = normal(1000, 5);
  const want = f32(1000);
  affineReference(x, 0.37, -1.25, want);
  checks.push(await close('affine', ops.affine(put(b, x, [10, 100]), 0.37, -1.25), want));
  checks.push(await close('affine empty', ops.affine(put(b, f32(0), [0]), 2, 1), []));
  for (const dtype of DTYPES) {
    for (const value of [0, 1, -1, 1.5, 300, 70000.7, NaN, -Infinity]) {
      for (const shape of [[3], [5, 3], [], [0]] as Shape[]) {
        const want = allocTypedArray(dtype, sizeOf(shape));
        want.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
        checks.push(await exact(`fill ${dtype} ${value} [${shape}]`, ops.full(shape, value, dtype, b), want, shape, dtype));
      }
    }
  }
  return checks;
};

const CAST_SOURCES: Record<DType, TypedArray> = {
  f32: Float32Array.of(0, -0, 1.5, -1.5, 2.7, -2.7, 255.9, 256, -129.5, 65537.2, -65537.2, 3e9, -3e9, 1e20, -1e20, NaN, Infinity, -Infinity, 2147483648, -2147483648, 16777216, 0.4, -0.99, 1e-30),
  i32: Int32Array.of(0, 1, -1, 255, 256, -129, 65535, 65536, -65537, 16777217, -16777217, 2147483647, -2147483648, 123456789),
  u16: Uint16Array.of(0, 1, 255, 256, 65535, 32768, 1000),
  u8: Uint8Array.of(0, 1, 127, 128, 255),
  bool: Uint8Array.of(0, 1, 1, 0, 1),
};

const cast: Case = async (b) => {
  const checks: Check[] = [];
  for (const from of DTYPES) {
    for (const to of DTYPES) {
      const src = CAST_SOURCES[from];
      const want = allocTypedArray(to, src.length);
      castReference(src, to, want);
      checks.push(await exact(`cast ${from} -> ${to}`, ops.cast(put(b, src, [src.length], from), to), want, [src.length], to));
    }
  }
  checks.push(await exact('cast empty', ops.cast(put(b, f32(0), [0]), 'u8'), new Uint8Array(0), [0], 'u8'));
  return checks;
};

interface MatmulCase {
  readonly a: Shape;
  readonly b: Shape;
  readonly tA?: boolean;
  readonly tB?: boolean;
}

const MATMULS: MatmulCase[] = [
  { a: [1, 1], b: [1, 1] },
  { a: [1, 7], b: [7, 1] },
  { a: [5, 1], b: [1, 6] },
  { a: [1, 300], b: [300, 64] },
  { a: [64, 300], b: [300, 1] },
  { a: [33, 17], b: [17, 65] },
  { a: [17, 33], b: [17, 65], tA: true },
  { a: [33, 17], b: [65, 17], tB: true },
  { a: [17, 33], b: [65, 17], tA: true, tB: true },
  { a: [64, 64], b: [64, 64] },
  { a: [70, 1000], b: [1000, 40] },
  { a: [3, 1025], b: [2, 1025], tB: true },
  { a: [2, 3, 9, 20], b: [20, 11] },
  { a: [20, 11], b: [4, 11, 6] },
  { a: [2, 1, 9, 20], b: [1, 3, 20, 11] },
  { a: [3, 20, 9], b: [3, 11, 20], tA: true, tB: true },
  // M = 1 with B^T: the GEMV kernel.
  { a: [1, 300], b: [64, 300], tB: true },
  { a: [300, 1], b: [5, 300], tA: true, tB: true },
  { a: [1, 1], b: [9, 1], tB: true },
  { a: [3, 1, 33], b: [3, 17, 33], tB: true },
  { a: [2, 1, 1, 40], b: [3, 7, 40], tB: true },
  { a: [1, 0], b: [4, 0], tB: true },
  { a: [5, 0], b: [0, 4] },
  { a: [0, 3], b: [3, 4] },
  { a: [2, 0, 4, 5], b: [5, 6] },
];

const matmul: Case = async (b) => {
  const checks: Check[] = [];
  for (const [i, m] of MATMULS.entries()) {
    const opts = { transposeA: m.tA ?? false, transposeB: m.tB ?? false };
    const { M, N, K, batchShape } = ops.matmulShape(m.a, m.b, opts);
    const a = normal(sizeOf(m.a), 100 + i);
    const bv = normal(sizeOf(m.b), 200 + i);
    const want = f32(sizeOf(batchShape) * M * N);
    matmulReference(a, m.a, bv, m.b, want, batchShape, M, N, K, opts.transposeA, opts.transposeB);
    const what = `matmul [${m.a}]${m.tA ? '^T' : ''} x [${m.b}]${m.tB ? '^T' : ''} (M=${M} N=${N} K=${K})`;
    checks.push(await close(what, ops.matmul(put(b, a, m.a), put(b, bv, m.b), opts), want, [...batchShape, M, N]));
  }
  return checks;
};

const softmax: Case = async (b) => {
  const checks: Check[] = [];
  const shapes: [Shape, number][] = [
    [[4, 5], -1],
    [[3, 100], -1],
    [[2, 1000], 1],
    [[6, 3, 4], 1],
    [[2, 300, 3], 1],
    [[5, 4], 0],
    [[1], 0],
    [[3, 1], 1],
    [[7], 0],
    [[0, 4], 1],
  ];
  for (const [shape, axis] of shapes) {
    const ax = axis < 0 ? axis + shape.length : axis;
    const [outer, n, inner] = axisSplit(shape, ax);
    // Logits around 1000 overflow exp() without the max subtraction.
    const x = normal(sizeOf(shape), 7, 3, 1000);
    for (const log of [false, true]) {
      const want = f32(x.length);
      softmaxReference(x, want, outer, n, inner, log);
      const t = put(b, x, shape);
      checks.push(await close(`${log ? 'logSoftmax' : 'softmax'} [${shape}] axis ${axis}`, log ? ops.logSoftmax(t, axis) : ops.softmax(t, axis), want, shape));
    }
  }
  return checks;
};

const norms: Case = async (b) => {
  const checks: Check[] = [];
  for (const shape of [[4, 7], [3, 300], [2, 2, 64], [5], [3, 1]] as Shape[]) {
    const d = shape[shape.length - 1];
    const x = normal(sizeOf(shape), 21, 2, 0.5);
    const w = normal(d, 22);
    const bias = normal(d, 23);
    for (const withWeight of [false, true]) {
      const want = f32(x.length);
      rmsNormReference(x, withWeight ? w : null, 1e-6, want, d);
      checks.push(await close(`rmsNorm [${shape}]${withWeight ? ' weighted' : ''}`, ops.rmsNorm(put(b, x, shape), withWeight ? put(b, w, [d]) : null, 1e-6), want, shape));
    }
    for (const [wOn, bOn] of [[false, false], [true, false], [false, true], [true, true]]) {
      const want = f32(x.length);
      layerNormReference(x, wOn ? w : null, bOn ? bias : null, 1e-5, want, d);
      const got = ops.layerNorm(put(b, x, shape), wOn ? put(b, w, [d]) : null, bOn ? put(b, bias, [d]) : null, 1e-5);
      checks.push(await close(`layerNorm [${shape}] w=${wOn} b=${bOn}`, got, want, shape));
    }
  }
  checks.push(await close('rmsNorm empty', ops.rmsNorm(put(b, f32(0), [0, 4]), null), []));
  return checks;
};

const rope: Case = async (b) => {
  const checks: Check[] = [];
  for (const shape of [[2, 3, 5, 8], [5, 2], [1, 64]] as Shape[]) {
    const [T, D] = shape.slice(-2);
    const x = normal(sizeOf(shape), 31);
    const angles = uniform((T * D) / 2, 32, -20, 20);
    const cos = angles.map(Math.cos);
    const sin = angles.map(Math.sin);
    for (const interleaved of [false, true]) {
      const want = f32(x.length);
      ropeReference(x, cos, sin, want, T, D, interleaved);
      const got = ops.rope(put(b, x, shape), put(b, cos, [T, D / 2]), put(b, sin, [T, D / 2]), interleaved);
      checks.push(await close(`rope [${shape}] ${interleaved ? 'interleaved' : 'rotate_half'}`, got, want, shape));
    }
  }
  return checks;
};

interface AttentionCase {
  readonly what: string;
  readonly T: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly D: number;
  readonly length: number;
  readonly queryStart: number;
  readonly positions?: readonly number[];
  readonly window?: number;
  /** 1/sqrt(D) when absent. */
  readonly scale?: number;
}

/**
 * Attention against the reference. The cache has rows past `length` holding NaN, which must never
 * be read; rows with nothing visible must be NaN exactly where the reference's are (`mismatches`),
 * the others are compared by norm-wise relative error.
 */
async function attentionChecks(b: Backend, c: AttentionCase, seed: number): Promise<Check[]> {
  const capacity = c.length + 2;
  const q = normal(c.T * c.heads * c.D, seed);
  const k = normal(capacity * c.kvHeads * c.D, seed + 1);
  const v = normal(capacity * c.kvHeads * c.D, seed + 2);
  k.fill(NaN, c.length * c.kvHeads * c.D);
  v.fill(NaN, c.length * c.kvHeads * c.D);
  const scale = c.scale ?? 1 / Math.sqrt(c.D);
  const positions = c.positions ? Int32Array.from(c.positions) : null;
  const want = f32(q.length);
  const selection = { length: c.length, queryStart: c.queryStart, scale, positions, window: c.window ?? null };
  attentionReference(q, k, v, { queries: c.T, heads: c.heads, kvHeads: c.kvHeads, headDim: c.D }, selection, want);
  const inputs = [ops.tensor(q, [c.T, c.heads, c.D], 'f32', b), ops.tensor(k, [capacity, c.kvHeads, c.D], 'f32', b), ops.tensor(v, [capacity, c.kvHeads, c.D], 'f32', b)];
  const pos = positions ? ops.tensor(positions, [positions.length], 'i32', b) : undefined;
  const out = ops.attention(inputs[0], inputs[1], inputs[2], { length: c.length, queryStart: c.queryStart, scale, positions: pos, window: c.window });
  const got = Float32Array.from(await out.read());
  for (const t of [...inputs, pos, out]) t?.dispose();
  let mismatches = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) mismatches++;
    if (Number.isNaN(got[i]) || Number.isNaN(want[i])) got[i] = want[i] = 0;
  }
  const what = `attention ${c.what} (T=${c.T}, ${c.heads}/${c.kvHeads} heads, D=${c.D}, length ${c.length}, start ${c.queryStart})`;
  return [
    { what: `${what}: NaN rows`, mismatches },
    { what, error: relativeError(got, want) },
  ];
}

/** Ascending positions in [0, limit), each kept with probability `density`. */
function randomPositions(limit: number, density: number, seed: number): number[] {
  const rng = new Random(seed);
  return Array.from({ length: limit }, (_, s) => s).filter(() => rng.uniform() < density);
}

const attention: Case = async (b) => {
  const cases: AttentionCase[] = [];
  const heads: [string, number, number][] = [
    ['MHA', 4, 4],
    ['GQA', 8, 2],
    ['MQA', 4, 1],
  ];
  // Prefill, and a chunk after a prefix of 1 .. 1983 positions (several chunks of candidates).
  const prefixes = [1, 40, 300, 1983];
  let i = 0;
  for (const D of [3, 4, 32, 64, 67, 80, 128]) {
    for (const [name, h, kv] of heads) {
      const T = [1, 5, 17][i % 3];
      const prefix = prefixes[i++ % prefixes.length];
      cases.push({ what: `${name} prefill`, T, heads: h, kvHeads: kv, D, length: T, queryStart: 0 });
      cases.push({ what: `${name} after ${prefix}`, T, heads: h, kvHeads: kv, D, length: prefix + T, queryStart: prefix });
    }
  }
  const base = { heads: 8, kvHeads: 2 };
  const chunk = ATTENTION_CHUNK;
  for (const length of [chunk - 1, chunk, chunk + 1, 2 * chunk + 1]) cases.push({ ...base, what: 'decode at a chunk edge', T: 1, D: 16, length, queryStart: length - 1 });
  for (const D of [4, 80]) {
    cases.push({ ...base, D, what: 'decode, positions', T: 1, length: 1500, queryStart: 1499, positions: randomPositions(1500, 0.2, D) });
    cases.push({ ...base, D, what: 'positions beyond the causal limit and length', T: 17, length: 900, queryStart: 600, positions: randomPositions(902, 0.3, D + 1) });
    cases.push({ ...base, D, what: 'decode, window 64', T: 1, length: 1000, queryStart: 999, window: 64 });
    cases.push({ ...base, D, what: 'window 1', T: 5, length: 205, queryStart: 200, window: 1 });
    cases.push({ ...base, D, what: 'window and positions', T: 17, length: 700, queryStart: 683, window: 300, positions: randomPositions(700, 0.5, D + 2) });
    cases.push({ ...base, D, what: 'length 0', T: 5, length: 0, queryStart: 0 });
    cases.push({ ...base, D, what: 'empty positions', T: 1, length: 50, queryStart: 49, positions: [] });
    cases.push({ ...base, D, what: 'positions visible to later rows only', T: 17, length: 17, queryStart: 0, positions: [10, 12] });
    cases.push({ ...base, D, what: 'window past the only positions', T: 5, length: 400, queryStart: 395, window: 8, positions: [2, 100, 386] });
  }
  // Beyond u32: the same visible positions must come out of the backend's clamping.
  cases.push({ ...base, D: 8, what: 'start and window beyond u32', T: 5, length: 100, queryStart: 5e9, window: 5e9 - 50 });
  cases.push({ ...base, D: 8, what: 'window ending before the cache', T: 5, length: 100, queryStart: 5e9, window: 1000 });
  // Scores up to about 200 (exp overflows f32 past 88.7) need the max subtraction. Larger D would
  // add f32 rounding of the scores themselves (an ulp of 200 is 1.5e-5) that no kernel avoids.
  for (const D of [8, 16]) cases.push({ ...base, D, what: 'scale 10', T: 5, length: 600, queryStart: 595, scale: 10 });
  const checks: Check[] = [];
  for (const [j, c] of cases.entries()) checks.push(...(await attentionChecks(b, c, 200 + 3 * j)));
  return checks;
};

const gather: Case = async (b) => {
  const checks: Check[] = [];
  const V = 11;
  const D = 6;
  for (const tableDtype of ['f32', 'i32', 'u8', 'u16'] as DType[]) {
    const table = allocTypedArray(tableDtype, V * D);
    castReference(normal(V * D, 41, 100), tableDtype, table);
    for (const indexDtype of ['i32', 'u16', 'u8'] as DType[]) {
      for (const ishape of [[7], [2, 3], [], [0]] as Shape[]) {
        const idx = allocTypedArray(indexDtype, sizeOf(ishape));
        idx.set(ints(idx.length, 42, 0, V));
        const want = allocTypedArray(tableDtype, idx.length * D);
        gatherReference(table, V, D, idx, want);
        const got = ops.gather(put(b, table, [V, D], tableDtype), put(b, idx, ishape, indexDtype));
        checks.push(await exact(`gather ${tableDtype} table, ${indexDtype} [${ishape}] indices`, got, want, [...ishape, D], tableDtype));
      }
    }
  }
  // Out of range: the GPU zero-fills and the next read reports what the CPU backend throws.
  const bad = ops.gather(put(b, normal(V * D, 43), [V, D]), put(b, Int32Array.of(3, 11, -1), [3], 'i32'));
  checks.push(await throws('gather out of range rejects read()', 'E_ARGUMENT', () => bad.read()));
  checks.push(await exact('reads after a reported gather error work', put(b, Int32Array.of(9), [1]), Int32Array.of(9)));
  return checks;
};

const layout: Case = async (b) => {
  const checks: Check[] = [];
  const perms: [Shape, number[]][] = [
    [[3, 4], [1, 0]],
    [[2, 3, 4], [2, 0, 1]],
    [[2, 3, 4], [0, 2, 1]],
    [[2, 1, 3, 5], [3, 1, 0, 2]],
    [[5], [0]],
    [[], []],
    [[3, 0, 2], [2, 1, 0]],
    [[1, 1, 7], [2, 0, 1]],
  ];
  for (const dtype of ['f32', 'u8', 'u16', 'bool'] as DType[]) {
    for (const [shape, perm] of perms) {
      const x = allocTypedArray(dtype, sizeOf(shape));
      x.set(ints(x.length, 51, 0, dtype === 'bool' ? 2 : 200));
      const want = allocTypedArray(dtype, x.length);
      transposeReference(x, shape, perm, want);
      checks.push(await exact(`transpose ${dtype} [${shape}] (${perm})`, ops.transpose(put(b, x, shape, dtype), perm), want, perm.map((p) => shape[p]), dtype));
    }
    const slices: [Shape, number[], number[]][] = [
      [[5, 6], [1, 2], [4, 5]],
      [[5, 6], [0, 0], [5, 6]],
      [[2, 3, 7], [1, 0, 3], [2, 3, 6]],
      [[9], [3], [3]],
      [[4, 4], [1, 3], [3, 4]],
      [[3, 5], [0, 1], [3, 2]],
    ];
    for (const [shape, begin, end] of slices) {
      const x = allocTypedArray(dtype, sizeOf(shape));
      x.set(ints(x.length, 52, 0, dtype === 'bool' ? 2 : 200));
      const outShape = begin.map((v, i) => end[i] - v);
      const want = allocTypedArray(dtype, sizeOf(outShape));
      sliceReference(x, shape, begin, end, want);
      checks.push(await exact(`slice ${dtype} [${shape}] [${begin}]..[${end}]`, ops.slice(put(b, x, shape, dtype), begin, end), want, outShape, dtype));
    }
    const concats: [Shape[], number][] = [
      [[[2, 3], [4, 3]], 0],
      [[[2, 3], [2, 1], [2, 5]], 1],
      [[[2, 3, 1], [2, 3, 2]], 2],
      [[[3], [0], [5]], 0],
      [[[2, 0], [2, 3]], 1],
      [[[1, 3, 2], [1, 1, 2], [1, 2, 2]], 1],
      [[[5], [3], [6], [1]], 0],
      [[[3, 1], [3, 2], [3, 3]], 1],
    ];
    for (const [shapes, axis] of concats) {
      const parts = shapes.map((s, i) => {
        const data = allocTypedArray(dtype, sizeOf(s));
        data.set(ints(data.length, 53 + i, 0, dtype === 'bool' ? 2 : 200));
        return { data, shape: s };
      });
      const outShape = [...shapes[0]];
      outShape[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
      const want = allocTypedArray(dtype, sizeOf(outShape));
      concatReference(parts, axis, want);
      const got = ops.concat(parts.map((p) => put(b, p.data, p.shape, dtype)), axis);
      checks.push(await exact(`concat ${dtype} ${shapes.map((s) => `[${s}]`).join(' ')} axis ${axis}`, got, want, outShape, dtype));
    }
  }
  // 300 dispatches in one op: more than a batch's parameter slots, so the batch is submitted mid-op.
  const many = Array.from({ length: 300 }, (_, i) => Uint8Array.of(i & 255, (i * 7) & 255, 3));
  const manyWant = new Uint8Array(900);
  concatReference(many.map((data) => ({ data, shape: [1, 3] })), 0, manyWant);
  const manyGot = ops.concat(many.map((d) => put(b, d, [1, 3], 'u8')), 0);
  checks.push(await exact('concat of 300 u8 tensors (parameters span batches)', manyGot, manyWant, [300, 3], 'u8'));
  return checks;
};

const reduce: Case = async (b) => {
  const checks: Check[] = [];
  const shapes: [Shape, number][] = [
    [[4, 50], 1],
    [[3, 500], 1],
    [[6, 5, 7], 1],
    [[2, 400, 3], 1],
    [[5, 4], 0],
    [[7], 0],
    [[1, 1], 0],
    [[3, 0], 1],
    [[0, 3], 1],
  ];
  for (const [shape, axis] of shapes) {
    const [outer, n, inner] = axisSplit(shape, axis);
    const x = normal(sizeOf(shape), 61, 1, 0.3);
    const xi = ints(sizeOf(shape), 62, -50, 50);
    for (const keepDims of [false, true]) {
      const outShape = keepDims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
      for (const op of REDUCE_OPS) {
        const want = f32(outer * inner);
        reduceReference(op, x, outer, n, inner, want);
        const what = `${op} f32 [${shape}] axis ${axis}${keepDims ? ' keepDims' : ''}`;
        // Empty axes give -Infinity, Infinity or NaN, which relative error cannot compare.
        const t = ops.reduce(op, put(b, x, shape), axis, keepDims);
        checks.push(n === 0 ? await exact(what, t, want, outShape) : await close(what, t, want, outShape));
        if (op !== 'mean') {
          const iwant = new Int32Array(outer * inner);
          reduceReference(op, xi, outer, n, inner, iwant);
          checks.push(await exact(`${op} i32 [${shape}] axis ${axis}${keepDims ? ' keepDims' : ''}`, ops.reduce(op, put(b, xi, shape), axis, keepDims), iwant, outShape, 'i32'));
        }
      }
      const amax = new Int32Array(outer * inner);
      argmaxReference(x, outer, n, inner, amax);
      checks.push(await exact(`argmax f32 [${shape}] axis ${axis}${keepDims ? ' keepDims' : ''}`, ops.argmax(put(b, x, shape), axis, keepDims), amax, outShape, 'i32'));
      argmaxReference(xi, outer, n, inner, amax);
      checks.push(await exact(`argmax i32 [${shape}] axis ${axis}${keepDims ? ' keepDims' : ''}`, ops.argmax(put(b, xi, shape), axis, keepDims), amax, outShape, 'i32'));
    }
  }
  // NaN propagates through max/min and wins argmax; ties pick the first index.
  for (const n of [10, 300]) {
    const x = normal(2 * n, 63);
    x[n + 7] = NaN;
    x[3] = 50;
    x[5] = 50;
    for (const op of ['max', 'min'] as const) {
      const want = f32(2);
      reduceReference(op, x, 2, n, 1, want);
      checks.push(await exact(`${op} with NaN and ties, n=${n}`, ops.reduce(op, put(b, x, [2, n]), 1), want));
    }
    const sums = await ops.sum(put(b, x, [2, n]), 1).read();
    const want = f32(2);
    reduceReference('sum', x, 2, n, 1, want);
    checks.push({ what: `sum with NaN, n=${n}: the NaN row`, mismatches: Number.isNaN(sums[1]) ? 0 : 1 });
    checks.push({ what: `sum with NaN, n=${n}: the other row`, error: relativeError(sums.subarray(0, 1), want.subarray(0, 1)) });
    const amax = new Int32Array(2);
    argmaxReference(x, 2, n, 1, amax);
    checks.push(await exact(`argmax with NaN and ties, n=${n}`, ops.argmax(put(b, x, [2, n]), 1), amax));
  }
  return checks;
};

const topk: Case = async (b) => {
  const checks: Check[] = [];
  const cases: [Shape, number, number][] = [
    [[3, 10], 3, 1],
    [[2, 300], 5, 1],
    [[4, 6, 5], 2, 1],
    [[8], 8, 0],
    [[5, 4], 0, 1],
    [[2, 100], 100, 1],
  ];
  for (const [shape, k, axis] of cases) {
    const [outer, n, inner] = axisSplit(shape, axis);
    // Few distinct values: many ties, resolved by index.
    const x = Float32Array.from(ints(sizeOf(shape), 71, 0, 6));
    if (x.length > 9) x[9] = NaN;
    const outShape = shape.map((d, i) => (i === axis ? k : d));
    const values = f32(sizeOf(outShape));
    const indices = new Int32Array(sizeOf(outShape));
    topkReference(x, outer, n, inner, k, values, indices);
    const got = ops.topk(put(b, x, shape), k, axis);
    checks.push(await exact(`topk values [${shape}] k=${k} axis ${axis}`, got.values, values, outShape, 'f32'));
    checks.push(await exact(`topk indices [${shape}] k=${k} axis ${axis}`, got.indices, indices, outShape, 'i32'));
    const xi = ints(sizeOf(shape), 72, -3, 3);
    const ivalues = new Int32Array(sizeOf(outShape));
    topkReference(xi, outer, n, inner, k, ivalues, indices);
    const goti = ops.topk(put(b, xi, shape), k, axis);
    checks.push(await exact(`topk i32 values [${shape}] k=${k}`, goti.values, ivalues, outShape, 'i32'));
    checks.push(await exact(`topk i32 indices [${shape}] k=${k}`, goti.indices, indices, outShape, 'i32'));
  }
  return checks;
};

/** A backend limited to 8 workgroups per dimension runs every kernel family on a 2-D grid. */
const dispatch2d: Case = async () => {
  const b = await createWebGpuBackend({ maxWorkgroupsPerDimension: 8 });
  const checks: Check[] = [];
  try {
    const x = normal(5000, 81);
    const want = f32(5000);
    unaryReference('exp', x, want);
    checks.push(await close('exp over a 2-D grid', ops.exp(put(b, x, [5000])), want));
    const y = normal(50, 82);
    binaryReference('mul', x, [100, 50], y, [50], want, [100, 50]);
    checks.push(await close('broadcast mul over a 2-D grid', ops.mul(put(b, x, [100, 50]), put(b, y, [50])), want));
    softmaxReference(x, want, 50, 100, 1);
    checks.push(await close('softmax, 50 rows of workgroups, on a 2-D grid', ops.softmax(put(b, x, [50, 100]), 1), want));
    const a = normal(10 * 40 * 30, 83);
    const m = normal(30 * 70, 84);
    const c = f32(10 * 40 * 70);
    matmulReference(a, [10, 40, 30], m, [30, 70], c, [10], 40, 70, 30, false, false);
    checks.push(await close('batched matmul on a 2-D grid', ops.matmul(put(b, a, [10, 40, 30]), put(b, m, [30, 70])), c));
    const u8 = Uint8Array.from(ints(5000, 85, 0, 256));
    const tr = new Uint8Array(5000);
    transposeReference(u8, [50, 100], [1, 0], tr);
    checks.push(await exact('u8 transpose on a 2-D grid', ops.transpose(put(b, u8, [50, 100], 'u8'), [1, 0]), tr));
    const s = f32(100);
    reduceReference('sum', x, 100, 50, 1, s);
    checks.push(await close('sum rows on a 2-D grid', ops.sum(put(b, x, [100, 50]), 1), s));
    checks.push(...(await attentionChecks(b, { what: 'on a 2-D grid', T: 7, heads: 8, kvHeads: 2, D: 20, length: 40, queryStart: 31 }, 86)));
  } finally {
    b.dispose();
  }
  return checks;
};

/** More than 65535 workgroups of 256 in one dispatch, on the real limit. */
const large: Case = async (b) => {
  const n = 65535 * 256 + 1000;
  const x = uniform(n, 91, -1, 1);
  const want = f32(n);
  affineReference(x, 2, 0.5, want);
  return [await close(`affine on ${n} elements (2-D grid at the device limit)`, ops.affine(put(b, x, [n]), 2, 0.5), want)];
};

const errors: Case = async (b) => [
  // An API error (here an invalid buffer usage) is reported by the next wait, then cleared.
  await throws('a WebGPU validation error rejects the next sync()', 'E_WEBGPU', () => {
    b.device.createBuffer({ size: 4, usage: 0x0001 | 0x0080 }); // MAP_READ | STORAGE is not allowed
    return b.sync();
  }),
  await exact('work after a reported error', ops.add(put(b, Int32Array.of(2), [1]), put(b, Int32Array.of(3), [1])), Int32Array.of(5)),
  await throws('a tensor larger than the device can bind', 'E_WEBGPU', () => b.allocate('f32', 2 ** 31)),
  await throws('creating a backend without WebGPU', 'E_WEBGPU', () => createWebGpuBackend({ gpu: { requestAdapter: async () => null } as unknown as GPU })),
  { what: 'sparse linear kernels are left to the dense fallback', mismatches: [(b as Backend).linearCsr, (b as Backend).linearBsr, (b as Backend).linearNm].filter((f) => f !== undefined).length },
];

export const CASES: Readonly<Record<string, Case>> = {
  memory,
  unary,
  binary,
  affineAndFill,
  cast,
  matmul,
  softmax,
  norms,
  rope,
  attention,
  gather,
  layout,
  reduce,
  topk,
  dispatch2d,
  large,
  errors,
};

export const CASE_NAMES = Object.keys(CASES);

let shared: Promise<WebGpuBackend> | null = null;

function backend(): Promise<WebGpuBackend> {
  return (shared ??= createWebGpuBackend());
}

/** The adapter in use, and whether the backend is up. */
export async function backendInfo(): Promise<string> {
  return (await backend()).adapterInfo;
}

export async function runCase(name: string): Promise<CaseResult> {
  const start = performance.now();
  const b = await backend();
  let checks: Check[];
  try {
    checks = await CASES[name](b);
  } catch (e) {
    checks = [{ what: `${name} threw`, failure: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) }];
  }
  return { name, checks, ms: Math.round(performance.now() - start) };
}

/** Shader variants compiled by the shared backend so far. */
export async function pipelineCount(): Promise<number> {
  return (await backend()).pipelineCount;
}
