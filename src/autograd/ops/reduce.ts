/** Reductions on Variables: sum and mean along an axis, or over everything. */
import * as ops from '../../core/ops.js';
import { tidy, type Tensor } from '../../core/tensor.js';
import { record, type Variable } from '../variable.js';

/** `g` (the reduced shape, axis kept or not) spread over `like`'s shape, times `factor`. */
function spread(g: Tensor, like: Tensor, axis: number, factor: number): Tensor {
  return tidy(() => {
    const kept = g.reshape(like.shape.map((d, i) => (i === axis ? 1 : d)));
    const zeros = ops.full(like.shape, 0, 'f32', like.backend);
    const out = ops.add(zeros, kept);
    return factor === 1 ? out : ops.scale(out, factor);
  });
}

function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function sum(x: Variable, axis = -1, keepDims = false): Variable {
  const ax = normalizeAxis(axis, x.shape.length);
  return record(ops.sum(x.value, ax, keepDims), [x], (g) => [spread(g, x.value, ax, 1)]);
}

export function mean(x: Variable, axis = -1, keepDims = false): Variable {
  const ax = normalizeAxis(axis, x.shape.length);
  return record(ops.mean(x.value, ax, keepDims), [x], (g) => [spread(g, x.value, ax, 1 / x.shape[ax])]);
}

/** Sum of every element times `factor`, a scalar []. */
function total(x: Tensor, factor: number): Tensor {
  return tidy(() => {
    const s = ops.sum(x.reshape([-1]), 0);
    return factor === 1 ? s : ops.scale(s, factor);
  });
}

/** Sum of every element, a scalar [] (losses). */
export function sumAll(x: Variable): Variable {
  return record(total(x.value, 1), [x], (g) => [tidy(() => ops.add(ops.full(x.shape, 0, 'f32', x.value.backend), g))]);
}

export function meanAll(x: Variable): Variable {
  const n = x.value.size;
  return record(total(x.value, 1 / n), [x], (g) => [tidy(() => ops.scale(ops.add(ops.full(x.shape, 0, 'f32', x.value.backend), g), 1 / n))]);
}
