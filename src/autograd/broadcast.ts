/** Gradients of broadcasting ops: a gradient of the broadcast shape summed back to an input's shape. */
import { sum } from '../core/ops.js';
import type { Shape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';

/**
 * `grad` (the broadcast result's shape) summed over the axes that broadcasting added or
 * stretched, giving `shape`. Returns a tensor of its own (a view when nothing is summed).
 */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  let g = grad.reshape(grad.shape);
  while (g.rank > shape.length) {
    const next = sum(g, 0);
    g.dispose();
    g = next;
  }
  for (let axis = 0; axis < shape.length; axis++) {
    if (shape[axis] === 1 && g.shape[axis] !== 1) {
      const next = sum(g, axis, true);
      g.dispose();
      g = next;
    }
  }
  return g;
}
