/**
 * RigL, Rigging the Lottery (Evci et al. 2020, "Rigging the Lottery: Making All Tickets
 * Winners"): drop the smallest magnitudes, regrow where the dense gradient of this step is
 * largest in magnitude; grown weights start at zero (dynamic.ts has the shared schedule).
 */
import type { MaskUpdateContext, SparseLayer } from '../types.js';
import { highestInactive } from '../mask-ops.js';
import { DynamicSparse } from './dynamic.js';

export class Rigl extends DynamicSparse {
  override readonly name = 'rigl';
  override readonly needsGradients = true;

  protected grow(layer: SparseLayer, mask: Uint8Array, count: number, context: MaskUpdateContext): number[] {
    const grad = context.gradients?.get(layer.name);
    if (!grad) throw new Error(`rigl: no dense gradient for ${layer.name} at step ${context.step}`);
    return highestInactive(grad.map(Math.abs), mask, count);
  }
}
