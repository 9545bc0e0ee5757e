/**
 * N:M selection (Mishra et al. 2021, "Accelerating Sparse Deep Neural Networks"): in every M
 * consecutive weights of a row (along the input dimension) the N highest scores stay and the
 * M - N lowest go, ties to the lower index (select.ts; the authors' torch.topk leaves the order of
 * ties unspecified).
 *
 * Naming: here, as in sparse/pattern.ts and NVIDIA's 2:4, N is the number KEPT. Wanda's and
 * SparseGPT's code call topk(..., prune_n, largest=False) and zero those, i.e. their N is the
 * number PRUNED; the two readings coincide for 2:4 and 4:8, the patterns they ship.
 *
 * Sparsity: an N:M mask is 1 - N/M sparse by construction, so the sparsity argument must equal
 * it (within 1e-9); anything else is an ArgumentError rather than silently ignored (Wanda's
 * main.py likewise asserts sparsity_ratio == 0.5 for its N:M types).
 */
import { ArgumentError } from '../../core/errors.js';
import type { Mask } from '../../sparse/mask.js';
import { validateNm } from '../../sparse/pattern.js';
import type { Pattern, PatternSpec } from '../types.js';
import { allKept, assertScores, assertSparsity, pruneLowest } from './select.js';

export class NmPattern implements Pattern {
  readonly spec: PatternSpec;

  constructor(readonly n: number, readonly m: number) {
    validateNm(n, m);
    this.spec = { kind: 'nm', n, m };
  }

  select(scores: Float32Array, rows: number, cols: number, sparsity: number): Mask {
    const { n, m } = this;
    const where = `${n}:${m} pattern`;
    assertSparsity(sparsity, where);
    if (Math.abs(sparsity - (1 - n / m)) > 1e-9) {
      throw new ArgumentError(`${where}: the sparsity of ${n}:${m} is fixed at 1 - ${n}/${m} = ${1 - n / m}, but ${sparsity} was asked for`);
    }
    assertScores(scores, rows, cols, where);
    if (cols % m !== 0) throw new ArgumentError(`${where}: ${cols} input columns are not divisible by M = ${m}`);
    const { mask, drop } = allKept(rows, cols);
    const scratch = new Float64Array(m);
    for (let start = 0; start < rows * cols; start += m) pruneLowest(scores, start, m, m - n, drop, scratch);
    return mask;
  }
}
