/**
 * SET, Sparse Evolutionary Training (Mocanu et al. 2018, "Scalable training of artificial neural
 * networks with adaptive sparse connectivity inspired by network science"): drop the smallest
 * magnitudes, regrow uniformly at random. On RigL's schedule (dynamic.ts).
 */
import type { Random } from '../../core/random.js';
import { randomInactive } from '../mask-ops.js';
import type { SparseLayer } from '../types.js';
import { DynamicSparse } from './dynamic.js';

export class SetMethod extends DynamicSparse {
  override readonly name = 'set';
  override readonly needsGradients = false;

  protected grow(_layer: SparseLayer, mask: Uint8Array, count: number, _context: unknown, rng: Random): number[] {
    return randomInactive(mask, count, rng);
  }
}
