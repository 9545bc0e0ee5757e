/**
 * PyramidKV (Cai et al. 2024, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal
 * Information Funneling"): SnapKV's window votes, with budgets shrinking linearly from the lowest
 * layer to the highest (attention funnels: broad below, focused above). The non-window budget A =
 * budget - window averages over layers: the top layer gets A / beta, the bottom 2A - A / beta.
 *
 * Matches KVCache-Factory's PyramidKVCluster (beta 20; when the bottom layer would exceed the
 * prompt it is capped at prompt - window and the top raised to keep the mean). Difference: the
 * authors floor min and step to integers, so their layers sum slightly off L x budget; here the
 * linear schedule is rounded by largest remainder so the layers sum to exactly L x budget.
 */
import { ArgumentError } from '../core/errors.js';
import { resolveBudget } from './budget.js';
import { SnapKvPolicy, type SnapKvOptions } from './snapkv.js';

export interface PyramidKvOptions extends SnapKvOptions {
  /** Steepness: the top layer keeps (budget - window) / beta non-window tokens (authors: 20). */
  readonly beta?: number;
}

/**
 * Tokens per layer (window included), bottom to top, for a mean of `budgetTokens` per layer at a
 * prompt of `contextTokens`.
 */
export function pyramidBudgets(budgetTokens: number, layers: number, window: number, contextTokens: number, beta = 20): number[] {
  if (layers === 1) return [budgetTokens];
  const mean = budgetTokens - window;
  if (mean <= 0) throw new ArgumentError(`pyramidkv: a budget of ${budgetTokens} tokens must exceed the window of ${window}`);
  let low = mean / beta;
  let high = 2 * mean - low;
  if (high >= contextTokens - window) {
    high = contextTokens - window;
    low = 2 * mean - high;
  }
  const real = Array.from({ length: layers }, (_, l) => high - (l * (high - low)) / (layers - 1));
  const floors = real.map(Math.floor);
  let missing = Math.round(layers * mean) - floors.reduce((a, b) => a + b, 0);
  // Largest remainder, earlier (lower) layers first on ties.
  const order = real.map((r, l) => [r - floors[l], l] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, l] of order) {
    if (missing <= 0) break;
    floors[l]++;
    missing--;
  }
  return floors.map((n) => n + window);
}

export class PyramidKvPolicy extends SnapKvPolicy {
  override readonly name: string = 'pyramidkv';
  override readonly paper: string = 'Cai et al. 2024, PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information Funneling';
  readonly beta: number;

  constructor(options: PyramidKvOptions) {
    super(options);
    this.beta = options.beta ?? 20;
    if (!(this.beta >= 1)) throw new ArgumentError(`pyramidkv: beta ${this.beta} must be >= 1`);
  }

  override layerBudgetTokens(layer: number, layers: number, contextTokens: number): number {
    const mean = resolveBudget(this.budget, contextTokens).budgetTokens;
    if (mean >= contextTokens) return mean;
    return pyramidBudgets(mean, layers, Math.min(this.window, mean - 1), contextTokens, this.beta)[layer];
  }
}
