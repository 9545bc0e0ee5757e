/**
 * Uniform allocation: every layer at the target sparsity, the baseline of Wanda (Sun et al. 2024),
 * SparseGPT (Frantar & Alistarh 2023) and every non-uniform allocation paper.
 */
import type { Allocator, AllocationLayer } from '../types.js';
import { checkLayers, checkTarget } from './budget.js';

export class UniformAllocator implements Allocator {
  readonly name = 'uniform';
  readonly needs = { norms: false, gram: false } as const;
  readonly searches = false;

  async allocate(layers: readonly AllocationLayer[], targetSparsity: number): Promise<Map<string, number>> {
    checkTarget(targetSparsity);
    checkLayers(layers);
    return new Map(layers.map((l) => [l.name, targetSparsity]));
  }
}
