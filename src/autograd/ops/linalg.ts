/** Matrix products on Variables: matmul (batched, with transposes) and the Linear layer. */
import * as ops from '../../core/ops.js';
import type { MatmulOptions } from '../../core/backend.js';
import { tidy } from '../../core/tensor.js';
import { ShapeError } from '../../core/errors.js';
import { sumToShape } from '../broadcast.js';
import { record, type Variable } from '../variable.js';
import { add } from './elementwise.js';
import { reshape } from './layout.js';

/**
 * Y = op(A) op(B) as ops.matmul. With G = dL/dY: dop(A) = G op(B)^T and dop(B) = op(A)^T G,
 * transposed back where A or B is stored transposed, each written as one matmul with the
 * transposes that avoid copies; batch dims that broadcast are summed back.
 */
export function matmul(a: Variable, b: Variable, options: MatmulOptions = {}): Variable {
  const tA = options.transposeA ?? false;
  const tB = options.transposeB ?? false;
  return record(ops.matmul(a.value, b.value, options), [a, b], (g) =>
    tidy(() => {
      let da = null;
      let db = null;
      if (a.requiresGrad) {
        const full = tA ? ops.matmul(b.value, g, { transposeA: tB, transposeB: true }) : ops.matmul(g, b.value, { transposeB: !tB });
        da = sumToShape(full, a.shape);
      }
      if (b.requiresGrad) {
        const full = tB ? ops.matmul(g, a.value, { transposeA: true, transposeB: tA }) : ops.matmul(a.value, g, { transposeA: !tA });
        db = sumToShape(full, b.shape);
      }
      return [da, db];
    }),
  );
}

/**
 * A Linear layer, y = x W^T + b, with x [..., in], W [out, in] (PyTorch's layout) and b [out].
 * Leading dims are flattened so that dW is one [out, in] product, not a batch summed afterwards.
 */
export function linear(x: Variable, weight: Variable, bias: Variable | null = null): Variable {
  const [out, inFeatures] = weight.shape;
  if (weight.shape.length !== 2) throw new ShapeError(`linear: the weight must be [out, in], got [${weight.shape.join(', ')}]`);
  if (x.shape[x.shape.length - 1] !== inFeatures) throw new ShapeError(`linear: x [${x.shape.join(', ')}] has not ${inFeatures} input features`);
  const leading = x.shape.slice(0, -1);
  const x2 = x.shape.length === 2 ? x : reshape(x, [-1, inFeatures]);
  let y = matmul(x2, weight, { transposeB: true });
  if (bias) y = add(y, bias);
  return x.shape.length === 2 ? y : reshape(y, [...leading, out]);
}
