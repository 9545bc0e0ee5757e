/**
 * Random pruning (as studied in Liu et al. 2022, "The Unreasonable Effectiveness of Random
 * Pruning"), the floor any criterion must beat: S_ij uniform in [0, 1), drawn from the seeded
 * xoshiro stream of core/random.ts.
 * The stream's seed is the method's seed mixed with the layer name (FNV-1a), so a run is
 * reproducible while layers of the same shape (q/k/v) still get independent masks.
 */
import { Random } from '../../core/random.js';
import type { Criterion, PruneTarget } from '../types.js';

export class RandomCriterion implements Criterion {
  readonly name = 'random';
  readonly needs = { norms: false, gram: false };

  constructor(readonly seed = 0) {}

  score(target: PruneTarget): Float32Array {
    const rng = new Random((this.seed ^ fnv1a(target.name)) >>> 0);
    const scores = new Float32Array(target.rows * target.cols);
    for (let i = 0; i < scores.length; i++) scores[i] = rng.uniform();
    return scores;
  }
}

/** 32-bit FNV-1a of the UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
