/**
 * Mask selection shared by the methods: random masks of a given count, and the k active
 * (or inactive) positions with the lowest (or highest) scores. Ties go to the lower index, as
 * pruning's patterns do.
 */
import type { Random } from '../core/random.js';

/** A mask of n positions with exactly `kept` ones, uniformly at random. */
export function randomMask(n: number, kept: number, rng: Random): Uint8Array {
  const mask = new Uint8Array(n);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  // Partial Fisher-Yates: the first `kept` slots become a uniform sample without replacement.
  for (let i = 0; i < kept; i++) {
    const j = i + rng.int(n - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
    mask[order[i]] = 1;
  }
  return mask;
}

/** Positions where mask == state, ordered by score ascending (ties: lower index first). */
function ranked(scores: Float32Array, mask: Uint8Array, state: 0 | 1): number[] {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] === state) idx.push(i);
  return idx.sort((a, b) => scores[a] - scores[b] || a - b);
}

/** The k active positions with the lowest |weights| (what magnitude pruning drops). */
export function lowestActive(weights: Float32Array, mask: Uint8Array, k: number): number[] {
  const magnitude = weights.map(Math.abs);
  return ranked(magnitude, mask, 1).slice(0, k);
}

/** The k inactive positions with the highest scores (ties: lower index first). */
export function highestInactive(scores: Float32Array, mask: Uint8Array, k: number): number[] {
  const negated = scores.map((s) => -s);
  return ranked(negated, mask, 0).slice(0, k);
}

/** k inactive positions chosen uniformly at random. */
export function randomInactive(mask: Uint8Array, k: number, rng: Random): number[] {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) idx.push(i);
  for (let i = 0; i < k && i < idx.length; i++) {
    const j = i + rng.int(idx.length - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, k);
}

export function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}
