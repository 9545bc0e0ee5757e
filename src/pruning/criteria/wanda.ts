/**
 * Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language Models",
 * eq. 1): S_ij = |W_ij| * ||X_j||_2, the weight magnitude times the L2 norm of its input feature
 * over the calibration tokens, ||X_j||_2 = sqrt(sumSquares_j).
 *
 * The authors' code (locuslab/wanda lib/prune.py) computes
 *   W_metric = torch.abs(W) * torch.sqrt(scaler_row.reshape((1, -1)))
 * in float32 with scaler_row = sum x_j^2 / nsamples (a running mean over the calibration
 * sequences). That positive factor 1/nsamples scales every score alike, so no order changes,
 * within a row or across the layer. We round as they do -- the norm to f32, then the product to
 * f32 -- so that weights whose f32 metrics tie (zeros of an already sparse layer, equal products)
 * tie here too and fall to the same side under the shared tie rule (patterns/select.ts).
 */
import { ArgumentError } from '../../core/errors.js';
import type { Criterion, PruneTarget } from '../types.js';

export class WandaCriterion implements Criterion {
  readonly name = 'wanda';
  readonly needs = { norms: true, gram: false };

  score(target: PruneTarget): Float32Array {
    const { rows, cols, weight, stats } = target;
    if (!stats) throw new ArgumentError(`wanda: ${target.name} has no calibration statistics (Wanda needs the input norms ||X_j||)`);
    if (stats.sumSquares.length !== cols) throw new ArgumentError(`wanda: ${target.name} has ${cols} inputs but statistics for ${stats.sumSquares.length}`);
    const norms = new Float32Array(cols);
    for (let j = 0; j < cols; j++) norms[j] = Math.sqrt(stats.sumSquares[j]);
    const scores = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      // Float32Array stores round each product to f32: fl32(|W_ij| * fl32(||X_j||)).
      for (let j = 0, o = r * cols; j < cols; j++) scores[o + j] = Math.abs(weight[o + j]) * norms[j];
    }
    return scores;
  }
}
