/** Gradient clipping by global norm (Pascanu et al. 2013), as torch.nn.utils.clip_grad_norm_. */
import * as ops from '../../core/ops.js';
import { tidy } from '../../core/tensor.js';
import type { Variable } from '../../autograd/variable.js';

/** Scales every gradient by min(1, maxNorm / total norm); returns the norm before clipping. */
export async function clipGradNorm(params: readonly Variable[], maxNorm: number): Promise<number> {
  let squares = 0;
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad;
    const s = tidy(() => ops.sum(ops.square(g.reshape([-1])), 0));
    squares += ((await s.read()) as Float32Array)[0];
    s.dispose();
  }
  const norm = Math.sqrt(squares);
  const factor = maxNorm / (norm + 1e-6);
  if (factor < 1) {
    for (const p of params) {
      if (!p.grad) continue;
      const scaled = ops.scale(p.grad, factor);
      p.grad.dispose();
      p.grad = scaled;
    }
  }
  return norm;
}
