/**
 * What every pattern shares: argument checks, and "the k lowest scores of a set of positions"
 * with one tie rule everywhere: among equal scores the LOWER index is pruned first. That is what
 * a stable ascending sort followed by taking the first k does (torch.sort(stable=True)[1][:k], as
 * Wanda's code prunes), so equal scores -- e.g. the zeros of an already sparse layer -- give the
 * same mask as the authors' code.
 */
import { ArgumentError } from '../../core/errors.js';
import { Mask } from '../../sparse/mask.js';

/** Throws unless 0 <= sparsity < 1 (1 would remove every weight). */
export function assertSparsity(sparsity: number, where: string): void {
  if (!(sparsity >= 0 && sparsity < 1)) {
    throw new ArgumentError(`${where}: sparsity must be in [0, 1), got ${sparsity}${sparsity === 1 ? ' (1 would remove every weight)' : ''}`);
  }
}

/** Throws unless scores has rows * cols entries and no NaN (a NaN has no place in an order). */
export function assertScores(scores: Float32Array, rows: number, cols: number, where: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new ArgumentError(`${where}: rows and cols must be positive integers, got ${rows} x ${cols}`);
  }
  if (scores.length !== rows * cols) throw new ArgumentError(`${where}: ${scores.length} scores for a ${rows} x ${cols} weight`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new ArgumentError(`${where}: score ${i} (row ${Math.floor(i / cols)}, col ${i % cols}) is NaN`);
  }
}

/**
 * Calls prune(i) for the k lowest of scores[start .. start + count), ties to the lower index.
 * Finds the k-th smallest value by a native sort of a copy (into `scratch` when given, of at least
 * count values), then takes everything strictly below it and the first (in index order) of
 * those equal to it: the set a stable sort would give, without a comparator sort of indices.
 * -0 and +0 count as equal, as in IEEE (and torch) comparisons.
 */
export function pruneLowest(
  scores: Float32Array | Float64Array,
  start: number,
  count: number,
  k: number,
  prune: (index: number) => void,
  scratch?: Float64Array,
): void {
  if (k <= 0) return;
  // f64 holds every f32 exactly, so one scratch type serves both.
  const values = scratch ? scratch.subarray(0, count) : new Float64Array(count);
  values.set(scores.subarray(start, start + count));
  values.sort();
  const threshold = values[k - 1];
  let ties = k;
  for (let i = start; i < start + count; i++) if (scores[i] < threshold) ties--;
  for (let i = start; i < start + count; i++) {
    if (scores[i] < threshold) prune(i);
    else if (scores[i] === threshold && ties > 0) {
      prune(i);
      ties--;
    }
  }
}

/** A mask of [rows, cols] with every weight kept, and a function clearing one (flat index). */
export function allKept(rows: number, cols: number): { mask: Mask; drop: (index: number) => void } {
  const mask = Mask.ones([rows, cols]);
  const words = mask.words;
  return { mask, drop: (i) => void (words[i >>> 5] &= ~(1 << (i & 31))) };
}
