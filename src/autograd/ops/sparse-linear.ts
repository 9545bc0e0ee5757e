/**
 * A Linear layer whose weight is masked and also held in CSR (training/sparse-forward.ts):
 * y = x W^T through the sparse kernel, dx = dy W through the kernel on W^T's CSR, dW = dy^T x
 * dense (the sparse-training controller masks it, or RigL reads it whole). The Variable `weight`
 * is the dense parameter whose gradient is produced; `sparse` must hold its current values.
 */
import { matmul } from '../../core/ops.js';
import { ShapeError } from '../../core/errors.js';
import { linear as linearAny } from '../../sparse/linear.js';
import type { CsrMatrix } from '../../sparse/csr.js';
import { record, type Variable } from '../variable.js';
import { add } from './elementwise.js';
import { reshape } from './layout.js';

export function sparseLinear(x: Variable, weight: Variable, sparse: { readonly forward: CsrMatrix; readonly transposed: CsrMatrix }, bias: Variable | null = null): Variable {
  const [out, inFeatures] = weight.shape;
  if (sparse.forward.rows !== out || sparse.forward.cols !== inFeatures) {
    throw new ShapeError(`sparseLinear: the CSR weight is [${sparse.forward.rows}, ${sparse.forward.cols}], the parameter [${weight.shape.join(', ')}]`);
  }
  if (x.shape[x.shape.length - 1] !== inFeatures) throw new ShapeError(`sparseLinear: x [${x.shape.join(', ')}] has not ${inFeatures} input features`);
  const leading = x.shape.slice(0, -1);
  const x2 = x.shape.length === 2 ? x : reshape(x, [-1, inFeatures]);
  let y = record(linearAny(x2.value, sparse.forward), [x2, weight], (g) => [
    x2.requiresGrad ? linearAny(g, sparse.transposed) : null,
    weight.requiresGrad ? matmul(g, x2.value, { transposeA: true }) : null,
  ]);
  if (bias) y = add(y, bias);
  return x.shape.length === 2 ? y : reshape(y, [...leading, out]);
}
