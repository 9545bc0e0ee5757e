/**
 * Elementwise kernels. Unary and binary ops are generated from core/op-table.ts's WGSL strings,
 * so there is no per-op code here; casts and fills work on raw bits so every dtype round-trips
 * byte-exactly with the CPU backend's typed-array semantics.
 */
import type { DType } from '../../../core/dtype.js';
import { BINARY_OPS, type BinaryOp, ERF_A, ERF_B, ERFC_C, ERFC_D, UNARY_OPS, type UnaryOp } from '../../../core/op-table.js';
import { broadcastStrides, type Shape, sizeOf } from '../../../core/shape.js';
import { Params } from '../params.js';
import { ENTRY_ARGS, groupsFor, type KernelSpec, loadBits, read, WORKGROUP_SIZE, wordMain, wordsFor, write } from './common.js';
import { collapseDims, decodeOffsets } from './indexing.js';

// erf by W. J. Cody's rational Chebyshev approximations, the algorithm core/op-table.ts's reference
// uses, evaluated in f32: gelu on [-10, 10] matches the f64 reference to 5e-8 norm-wise, f32's own
// resolution, and stays relatively accurate near 0, where Abramowitz-Stegun 7.1.26 (1.5e-7
// absolute, from 1 - poly * exp) is not. Coefficients as in op-table.ts (CALERF).
/** Horner steps `num = (num + c[i]) * t; den = (den + d[i]) * t;` for i < count. */
function hornerSteps(c: readonly number[], d: readonly number[], count: number, t: string): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`num = (num + ${c[i]}) * ${t}; den = (den + ${d[i]}) * ${t};`);
  return lines.join('\n  ');
}

export const WGSL_ERF = /* wgsl */ `
fn erf_approx(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let y = abs(x);
  if (y <= 0.46875) {
    let t = y * y;
    var num = ${ERF_A[4]} * t;
    var den = t;
    ${hornerSteps(ERF_A, ERF_B, 3, 't')}
    return x * (num + ${ERF_A[3]}) / (den + ${ERF_B[3]});
  }
  // Beyond 4, erfc(y) < 1.6e-8 is below half an f32 ulp of 1: erf is +-1 exactly.
  var erfc = 0.0;
  if (y <= 4.0) {
    var num = ${ERFC_C[8]} * y;
    var den = y;
    ${hornerSteps(ERFC_C, ERFC_D, 7, 'y')}
    erfc = exp(-y * y) * (num + ${ERFC_C[7]}) / (den + ${ERFC_D[7]});
  }
  return select(1.0 - erfc, erfc - 1.0, x < 0.0);
}`;

// Derivatives the op table names by function (too long for one expression).
export const WGSL_GRADS = /* wgsl */ `
fn gelu_tanh_grad(x: f32) -> f32 {
  let c = 0.7978845608028654;
  let t = tanh(c * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x);
}`;

// sin and cos after Cephes' sinf/cosf (S. Moshier): reduction by pi/4 in three parts (exact
// products for |x| < 8192), then minimax polynomials on [-pi/4, pi/4]; about 1 ulp. Beyond 8192 the
// reduction loses bits, as in Cephes; beyond 2^24 - 1 they return 0 (NaN for infinities).
export const WGSL_TRIG = /* wgsl */ `
fn trig_octant(ax: f32) -> vec2<f32> {
  var j = u32(1.27323954473516 * ax);
  var y = f32(j);
  if ((j & 1u) == 1u) { j += 1u; y += 1.0; }
  var z = ax - y * 0.78539816339744831;
  if (ax <= 8192.0) { z = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8; }
  return vec2<f32>(z, f32(j & 7u));
}
fn sin_poly(z: f32) -> f32 { let zz = z * z; return ((-1.9515295891e-4 * zz + 8.3321608736e-3) * zz - 1.6666654611e-1) * zz * z + z; }
fn cos_poly(z: f32) -> f32 { let zz = z * z; return ((2.443315711809948e-5 * zz - 1.388731625493765e-3) * zz + 4.166664568298827e-2) * zz * zz - 0.5 * zz + 1.0; }
fn sin_accurate(x: f32) -> f32 {
  let ax = abs(x);
  if (!(ax <= 16777215.0)) { return x - x; }
  let r = trig_octant(ax);
  var j = u32(r.y);
  var sign = select(1.0, -1.0, x < 0.0);
  if (j > 3u) { sign = -sign; j -= 4u; }
  let v = select(sin_poly(r.x), cos_poly(r.x), j == 1u || j == 2u);
  return sign * v;
}
fn cos_accurate(x: f32) -> f32 {
  let ax = abs(x);
  if (!(ax <= 16777215.0)) { return x - x; }
  let r = trig_octant(ax);
  var j = u32(r.y);
  var sign = 1.0;
  if (j > 3u) { sign = -sign; j -= 4u; }
  if (j > 1u) { sign = -sign; }
  let v = select(cos_poly(r.x), sin_poly(r.x), j == 1u || j == 2u);
  return sign * v;
}`;

/**
 * Builtins that WGSL lets implementations compute coarsely, swapped in op-table expressions for
 * the accurate versions above: sin and cos need only 2^-11 absolute error on [-pi, pi] (WGSL and
 * Vulkan precision rules), and SwiftShader's are off by 2e-4 at |x| = 10. The others in use (exp,
 * log, tanh, pow, sqrt, inverseSqrt) are specified to a few ulp and measure within 1e-6.
 */
const ACCURATE_BUILTINS: Readonly<Record<string, string>> = { sin: 'sin_accurate', cos: 'cos_accurate' };

export function accurateWgsl(expression: string): string {
  return expression.replace(/\b(sin|cos)\(/g, (_, name: string) => `${ACCURATE_BUILTINS[name]}(`);
}

/** Elementwise entry: `i` is the element, bounds-checked against p_n(). */
function elementMain(statement: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${ENTRY_ARGS}) {
  let i = linear_group(wid, nwg) * ${WORKGROUP_SIZE}u + li;
  if (i >= p_n()) { return; }
  ${statement}
}`;
}

export function unaryKernel(op: UnaryOp, x: GPUBuffer, y: GPUBuffer, n: number): KernelSpec {
  return {
    key: `unary:${op}`,
    params: new Params().u32('n', n),
    bindings: [read('X', 'f32', x), write('Y', 'f32', y)],
    workgroups: groupsFor(n),
    body: () => `${WGSL_ERF}\n${WGSL_TRIG}\n${WGSL_GRADS}\nfn op(x: f32) -> f32 { return ${accurateWgsl(UNARY_OPS[op].wgsl)}; }\n${elementMain('Y[i] = op(X[i]);')}`,
  };
}

export function affineKernel(x: GPUBuffer, y: GPUBuffer, n: number, scale: number, bias: number): KernelSpec {
  return {
    key: 'affine',
    params: new Params().u32('n', n).f32('scale', scale).f32('bias', bias),
    bindings: [read('X', 'f32', x), write('Y', 'f32', y)],
    workgroups: groupsFor(n),
    body: () => elementMain('Y[i] = X[i] * p_scale() + p_bias();'),
  };
}

/** out = op(a, b) over the broadcast shape, each operand read through its own strides. */
export function binaryKernel(
  op: BinaryOp,
  dtype: 'f32' | 'i32',
  a: { buffer: GPUBuffer; shape: Shape },
  b: { buffer: GPUBuffer; shape: Shape },
  y: GPUBuffer,
  outShape: Shape,
): KernelSpec {
  const n = sizeOf(outShape);
  const { shape, strides } = collapseDims(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)]);
  const decode = decodeOffsets(shape.length, 'i', 'shape', [
    { variable: 'ia', strides: 'sa' },
    { variable: 'ib', strides: 'sb' },
  ]);
  return {
    key: `binary:${op}:${dtype}`,
    params: new Params().u32('n', n).u32s('shape', shape).u32s('sa', strides[0]).u32s('sb', strides[1]),
    bindings: [read('A', dtype, a.buffer), read('B', dtype, b.buffer), write('Y', dtype, y)],
    workgroups: groupsFor(n),
    body: () =>
      `${WGSL_TRIG}\nfn op(a: ${dtype}, b: ${dtype}) -> ${dtype} { return ${accurateWgsl(BINARY_OPS[op].wgsl)}; }\n` +
      elementMain(`var ia = 0u;\n  var ib = 0u;\n  ${decode}\n  Y[i] = op(A[ia], B[ib]);`),
  };
}

/** Every word of the output set to `pattern` (the dtype's bits of the value, repeated). */
export function fillKernel(y: GPUBuffer, words: number, pattern: number): KernelSpec {
  return {
    key: 'fill',
    params: new Params().u32('words', words).u32('pattern', pattern),
    bindings: [write('OUT', 'u32', y)],
    workgroups: groupsFor(words),
    body: () => /* wgsl */ `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${ENTRY_ARGS}) {
  let w = linear_group(wid, nwg) * ${WORKGROUP_SIZE}u + li;
  if (w < p_words()) { OUT[w] = p_pattern(); }
}`,
  };
}

// JavaScript's typed-array store of Math.trunc(x): truncate, then wrap modulo 2^32 (NaN and
// infinities give 0). WGSL's f32 -> i32 conversion saturates instead, so this works on the bits.
const WGSL_F32_TO_INT_BITS = /* wgsl */ `
fn f32_to_int_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let e = i32((b >> 23u) & 0xffu) - 127;
  if (e < 0 || e == 128) { return 0u; }
  let m = (b & 0x7fffffu) | 0x800000u;
  var mag = 0u;
  if (e <= 23) { mag = m >> u32(23 - e); } else if (e < 55) { mag = m << u32(e - 23); }
  return select(mag, 0u - mag, (b >> 31u) != 0u);
}`;

/** WGSL expression: the source element (raw bits `raw` of dtype `from`) converted to the bits of `to`. */
function convert(from: DType, to: DType): string {
  if (from === to) return 'raw';
  const asF32 = from === 'f32' ? 'bitcast<f32>(raw)' : from === 'i32' ? 'f32(bitcast<i32>(raw))' : 'f32(raw)';
  const intBits = from === 'f32' ? 'f32_to_int_bits(bitcast<f32>(raw))' : 'raw';
  const nonzero = from === 'f32' ? '(raw & 0x7fffffffu) != 0u' : 'raw != 0u';
  if (to === 'f32') return `bitcast<u32>(${asF32})`;
  if (to === 'bool') return `select(0u, 1u, ${nonzero})`;
  return intBits; // i32, u16, u8: wordMain keeps the low bits, as a typed-array store wraps
}

export function castKernel(x: GPUBuffer, from: DType, y: GPUBuffer, to: DType, n: number): KernelSpec {
  const words = wordsFor(to, n);
  return {
    key: `cast:${from}:${to}`,
    params: new Params().u32('n', n).u32('words', words),
    bindings: [read('X', 'u32', x), write('OUT', 'u32', y)],
    workgroups: groupsFor(words),
    body: () =>
      [
        WGSL_F32_TO_INT_BITS,
        loadBits('src', 'X', from),
        `fn element(o: u32) -> u32 { let raw = src(o); return ${convert(from, to)}; }`,
        wordMain(to, 'element'),
      ].join('\n'),
  };
}
