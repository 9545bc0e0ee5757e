/**
 * Gradient checks against finite differences of float64 references: for an op f with a plain
 * float64 reference fRef, the loss L = sum(f(x) * R) for a fixed random R. Autograd's dL/dx
 * (engine, f32, backward seeded with R) must match central differences of the reference loss
 * (float64, step 1e-6 relative), norm-wise within `tolerance`.
 */
import assert from 'node:assert/strict';
import { tensor } from '../../src/core/ops.js';
import { backward, constant, parameter, type Variable } from '../../src/autograd/index.js';
import { Random } from '../../src/core/random.js';

export interface GradInput {
  readonly shape: number[];
  /** Values, or a seed for N(0, 1) values. */
  readonly values?: number[];
  readonly seed?: number;
  /** Positive values only (log, sqrt ...). */
  readonly positive?: boolean;
  /** Differentiate with respect to it (default true). */
  readonly grad?: boolean;
}

export type Reference = (inputs: Float64Array[]) => Float64Array;

function valuesOf(input: GradInput): Float64Array {
  if (input.values) return Float64Array.from(input.values);
  const rng = new Random(input.seed ?? 1);
  const n = input.shape.reduce((a, b) => a * b, 1);
  // f32-representable values, so both sides start from the same numbers.
  return Float64Array.from({ length: n }, () => {
    const v = Math.fround(rng.normal());
    return input.positive ? Math.fround(Math.abs(v) + 0.5) : v;
  });
}

function relativeError(got: Float64Array | Float32Array, want: Float64Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < want.length; i++) {
    diff += (got[i] - want[i]) ** 2;
    norm += want[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

export function gradcheck(name: string, inputs: GradInput[], op: (vars: Variable[]) => Variable, reference: Reference, tolerance = 2e-3): void {
  const values = inputs.map(valuesOf);
  const vars = inputs.map((input, i) => {
    const t = tensor(Float32Array.from(values[i]), input.shape);
    return input.grad === false ? constant(t) : parameter(t, `input ${i}`);
  });
  const out = op(vars);
  const outRef = reference(values);
  const outValues = out.value.readSync() as Float32Array;
  assert.equal(outValues.length, outRef.length, `${name}: output size`);
  assert.ok(relativeError(outValues, outRef) <= 1e-5, `${name}: forward differs from the float64 reference by ${relativeError(outValues, outRef)}`);
  const rng = new Random(99);
  const r = Float64Array.from({ length: outRef.length }, () => Math.fround(rng.normal()));
  backward(out, { seed: tensor(Float32Array.from(r), out.shape) });
  const loss = (xs: Float64Array[]) => reference(xs).reduce((s, v, i) => s + v * r[i], 0);
  inputs.forEach((input, k) => {
    if (input.grad === false) return;
    const numeric = new Float64Array(values[k].length);
    for (let i = 0; i < numeric.length; i++) {
      const x0 = values[k][i];
      const h = 1e-6 * Math.max(1, Math.abs(x0));
      values[k][i] = x0 + h;
      const plus = loss(values);
      values[k][i] = x0 - h;
      const minus = loss(values);
      values[k][i] = x0;
      numeric[i] = (plus - minus) / (2 * h);
    }
    const grad = vars[k].grad;
    assert.ok(grad, `${name}: input ${k} got no gradient`);
    const err = relativeError(grad.readSync() as Float32Array, numeric);
    assert.ok(err <= tolerance, `${name}: gradient of input ${k} differs from central differences by ${err.toExponential(2)} (norm-wise)`);
  });
}

/** Row-major index helpers for references. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** out[i] = f(a[ia], b[ib]) with NumPy broadcasting of aShape and bShape. */
export function broadcastRef(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], f: (x: number, y: number) => number): Float64Array {
  const rank = Math.max(aShape.length, bShape.length);
  const pa = [...new Array(rank - aShape.length).fill(1), ...aShape];
  const pb = [...new Array(rank - bShape.length).fill(1), ...bShape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const n = shape.reduce((x, y) => x * y, 1);
  const so = stridesOf(shape);
  const sa = stridesOf(pa);
  const sb = stridesOf(pb);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ia = 0;
    let ib = 0;
    let rest = i;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(rest / so[d]);
      rest -= c * so[d];
      if (pa[d] !== 1) ia += c * sa[d];
      if (pb[d] !== 1) ib += c * sb[d];
    }
    out[i] = f(a[ia], b[ib]);
  }
  return out;
}
