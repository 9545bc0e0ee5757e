/**
 * Elementwise ops on Variables and their vector-Jacobian products. Binary ops broadcast as the
 * engine's do; their gradients are summed back to each input's shape.
 */
import * as ops from '../../core/ops.js';
import { tidy, type Tensor } from '../../core/tensor.js';
import { sumToShape } from '../broadcast.js';
import { record, type Variable } from '../variable.js';

export function add(a: Variable, b: Variable): Variable {
  return record(ops.add(a.value, b.value), [a, b], (g) => [sumToShape(g, a.shape), sumToShape(g, b.shape)]);
}

export function sub(a: Variable, b: Variable): Variable {
  return record(ops.sub(a.value, b.value), [a, b], (g) => [sumToShape(g, a.shape), tidy(() => sumToShape(ops.neg(g), b.shape))]);
}

export function mul(a: Variable, b: Variable): Variable {
  return record(ops.mul(a.value, b.value), [a, b], (g) =>
    tidy(() => [a.requiresGrad ? sumToShape(ops.mul(g, b.value), a.shape) : null, b.requiresGrad ? sumToShape(ops.mul(g, a.value), b.shape) : null]),
  );
}

export function div(a: Variable, b: Variable): Variable {
  const y = ops.div(a.value, b.value);
  // d(a/b)/db = -a / b^2 = -y / b.
  return record(y, [a, b], (g) =>
    tidy(() => [
      a.requiresGrad ? sumToShape(ops.div(g, b.value), a.shape) : null,
      b.requiresGrad ? sumToShape(ops.neg(ops.div(ops.mul(g, y), b.value)), b.shape) : null,
    ]),
  );
}

/** x * s + t for numbers s, t. */
export function affine(x: Variable, s: number, t = 0): Variable {
  return record(ops.affine(x.value, s, t), [x], (g) => [ops.scale(g, s)]);
}

export const scale = (x: Variable, s: number): Variable => affine(x, s, 0);
export const addScalar = (x: Variable, t: number): Variable => affine(x, 1, t);

export function neg(x: Variable): Variable {
  return record(ops.neg(x.value), [x], (g) => [ops.neg(g)]);
}

/** An elementwise op whose derivative is a function of its input and output. */
function elementwise(x: Variable, value: Tensor, derivative: (x: Tensor, y: Tensor) => Tensor): Variable {
  return record(value, [x], (g) => [tidy(() => ops.mul(g, derivative(x.value, value)))]);
}

export const exp = (x: Variable): Variable => elementwise(x, ops.exp(x.value), (_, y) => y.reshape(y.shape));
export const log = (x: Variable): Variable => elementwise(x, ops.log(x.value), (v) => ops.reciprocal(v));
export const sqrt = (x: Variable): Variable => elementwise(x, ops.sqrt(x.value), (_, y) => ops.scale(ops.reciprocal(y), 0.5));
/** d x^(-1/2) = -x^(-3/2) / 2 = -y^3 / 2. */
export const rsqrt = (x: Variable): Variable => elementwise(x, ops.rsqrt(x.value), (_, y) => ops.scale(ops.mul(y, ops.square(y)), -0.5));
export const square = (x: Variable): Variable => elementwise(x, ops.square(x.value), (v) => ops.scale(v, 2));
export const reciprocal = (x: Variable): Variable => elementwise(x, ops.reciprocal(x.value), (_, y) => ops.neg(ops.square(y)));
export const tanh = (x: Variable): Variable => elementwise(x, ops.tanh(x.value), (_, y) => ops.affine(ops.square(y), -1, 1));
export const sigmoid = (x: Variable): Variable => elementwise(x, ops.sigmoid(x.value), (_, y) => ops.mul(y, ops.affine(y, -1, 1)));
export const relu = (x: Variable): Variable => elementwise(x, ops.relu(x.value), (v) => ops.unary('step', v));
export const silu = (x: Variable): Variable => elementwise(x, ops.silu(x.value), (v) => ops.unary('silu_grad', v));
export const gelu = (x: Variable): Variable => elementwise(x, ops.gelu(x.value), (v) => ops.unary('gelu_grad', v));
export const geluTanh = (x: Variable): Variable => elementwise(x, ops.geluTanh(x.value), (v) => ops.unary('gelu_tanh_grad', v));
