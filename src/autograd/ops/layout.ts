/** Layout ops on Variables: reshape, transpose, slice, concat. Their gradients move values back. */
import * as ops from '../../core/ops.js';
import type { Shape } from '../../core/shape.js';
import { tidy, type Tensor } from '../../core/tensor.js';
import { record, type Variable } from '../variable.js';

export function reshape(x: Variable, shape: Shape): Variable {
  return record(x.value.reshape(shape), [x], (g) => [g.reshape(x.shape)]);
}

export function transpose(x: Variable, perm?: readonly number[]): Variable {
  const p = perm ?? [...x.shape.keys()].reverse();
  const inverse = new Array<number>(p.length);
  p.forEach((axis, i) => (inverse[axis] = i));
  return record(ops.transpose(x.value, p), [x], (g) => [ops.transpose(g, inverse)]);
}

/** The gradient of a slice: zeros around it, built by concatenating zero blocks axis by axis. */
function padBack(g: Tensor, fullShape: Shape, begin: readonly number[]): Tensor {
  return tidy(() => {
    let out = g;
    for (let axis = 0; axis < fullShape.length; axis++) {
      const before = begin[axis];
      const after = fullShape[axis] - before - out.shape[axis];
      if (before === 0 && after === 0) continue;
      const parts: Tensor[] = [];
      const zeros = (n: number) => ops.full(out.shape.map((d, i) => (i === axis ? n : d)), 0, 'f32', g.backend);
      if (before > 0) parts.push(zeros(before));
      parts.push(out);
      if (after > 0) parts.push(zeros(after));
      out = ops.concat(parts, axis);
    }
    return out === g ? g.reshape(g.shape) : out;
  });
}

export function slice(x: Variable, begin: readonly number[], end?: readonly number[]): Variable {
  const value = ops.slice(x.value, begin, end);
  const start = x.shape.map((d, i) => {
    const b = begin[i] ?? 0;
    return b < 0 ? b + d : b;
  });
  return record(value, [x], (g) => [padBack(g, x.shape, start)]);
}

export function concat(xs: readonly Variable[], axis = 0): Variable {
  const rank = xs[0].shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const value = ops.concat(
    xs.map((x) => x.value),
    ax,
  );
  return record(value, xs, (g) => {
    let offset = 0;
    return xs.map((x) => {
      const begin = x.shape.map((_, i) => (i === ax ? offset : 0));
      const end = x.shape.map((d, i) => (i === ax ? offset + d : d));
      offset += x.shape[ax];
      return x.requiresGrad ? ops.slice(g, begin, end) : null;
    });
  });
}
