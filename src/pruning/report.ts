/** What a pruning run reports: before and after, and per layer. */
import type { PrunedLayerReport } from './pipeline.js';
import type { PruneRecipe } from './recipe.js';

export interface ModelMeasurement {
  /** Held-out perplexity, when an evaluation text was given. */
  perplexity: number | null;
  /** Greedy decode speed measured on the spot (median of a few runs). */
  decodeTokensPerS: number;
  /** Bytes of the model's weight files. */
  fileBytes: number;
}

export interface PruneReport {
  model: string;
  out: string;
  recipe: PruneRecipe;
  before: ModelMeasurement;
  after: ModelMeasurement;
  /** Parameter-weighted sparsity of the pruned Linears after each step. */
  stepSparsities: number[];
  layers: PrunedLayerReport[];
  calibrationTokens: number;
  seconds: number;
}
