/**
 * Sparse model soups (Zimmer et al. 2024, "Sparse Model Soups: A Recipe for Improved Pruning via
 * Model Averaging", SMS): from a trained model, each prune-retrain cycle prunes to the next
 * sparsity by magnitude, retrains m copies under that one mask with different seeds (batch order)
 * or hyperparameters, and averages them; the average (the soup) starts the next cycle. Copies
 * retrained from one pruned model stay in one basin, so their mean generalises better than each;
 * sharing the mask means the mean is exactly as sparse as each ingredient. Uniform soups average
 * all m; greedy soups (Wortsman et al. 2022, "Model soups") add ingredients in order of held-out
 * accuracy while the held-out accuracy does not fall.
 */
import { ArgumentError } from '../core/errors.js';
import type { Variable } from '../autograd/variable.js';
import type { ClassificationDataset } from '../data/dataset.js';
import type { Mlp } from '../nn/mlp.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import type { LearningRateSchedule } from '../nn/optim/schedule.js';
import { accuracy, trainClassifier } from './classifier.js';
import { SparsityController } from './controller.js';
import { magnitudeMasks, type PruningScope } from './magnitude-masks.js';
import { FixedMask } from './methods/fixed-mask.js';
import { averageWeights, loadWeights, maskedWeights, mlpSparseLayers, snapshotWeights, type WeightSnapshot } from './model-weights.js';

export const SOUP_RECIPES = ['uniform', 'greedy'] as const;
export type SoupRecipe = (typeof SOUP_RECIPES)[number];

export interface SparseSoupOptions {
  /** The trained starting point (read, not changed); its zero weights count as already pruned. */
  readonly model: Mlp;
  /** A model of the same architecture (its initial values are overwritten). */
  readonly createModel: (seed: number) => Mlp;
  /** A fresh optimizer for ingredient `ingredient` (0-based): vary its hyperparameters here if wanted. */
  readonly createOptimizer: (params: readonly Variable[], ingredient: number) => Optimizer;
  readonly train: ClassificationDataset;
  readonly test: ClassificationDataset;
  /** Held out from training, to rank ingredients in a greedy soup (required for 'greedy'). */
  readonly heldOut?: ClassificationDataset;
  /** The sparsity after each cycle, increasing. */
  readonly sparsities: readonly number[];
  /** m, the ingredients per cycle. */
  readonly ingredients: number;
  /** Retraining steps of each ingredient in each cycle. */
  readonly steps: number;
  readonly batchSize: number;
  /** Ingredient i of cycle c trains on batch order seed + 1000 c + i. */
  readonly seed: number;
  /** The learning rate over one retraining's steps. */
  readonly schedule?: LearningRateSchedule;
  /** Default 'layer'. */
  readonly scope?: PruningScope;
  /** Default 'uniform'. */
  readonly recipe?: SoupRecipe;
  /** Each ingredient's weights after retraining, for inspection. */
  readonly onIngredient?: (info: { readonly cycle: number; readonly index: number; readonly weights: ReadonlyMap<string, Float32Array>; readonly testAccuracy: number }) => void;
  readonly onProgress?: (message: string) => void;
}

export interface SoupCycle {
  readonly cycle: number;
  readonly targetSparsity: number;
  /** Fraction of the sparse layers' weights that are zero in the soup. */
  readonly sparsity: number;
  /** Weights outside the cycle's mask that are nonzero in the soup: 0 when averaging kept the mask. */
  readonly prunedNonzero: number;
  readonly ingredientAccuracies: readonly number[];
  readonly bestIngredientAccuracy: number;
  readonly soupAccuracy: number;
  /** The ingredients in the soup (all of them for a uniform soup). */
  readonly chosen: readonly number[];
  readonly masks: ReadonlyMap<string, Uint8Array>;
}

export interface SparseSoupResult {
  readonly cycles: readonly SoupCycle[];
  /** The last cycle's soup. */
  readonly soup: Mlp;
  readonly soupWeights: WeightSnapshot;
}

export async function sparseModelSoup(options: SparseSoupOptions): Promise<SparseSoupResult> {
  const { sparsities, ingredients, steps, train, test, batchSize } = options;
  const recipe = options.recipe ?? 'uniform';
  if (!SOUP_RECIPES.includes(recipe)) throw new ArgumentError(`sparse soup: unknown recipe '${String(recipe)}'; choose ${SOUP_RECIPES.join(', ')}`);
  if (recipe === 'greedy' && !options.heldOut) throw new ArgumentError('sparse soup: a greedy soup needs a heldOut set to rank its ingredients');
  if (!Number.isInteger(ingredients) || ingredients < 1) throw new ArgumentError(`sparse soup: ingredients must be a positive integer, got ${ingredients}`);
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`sparse soup: steps must be a positive integer, got ${steps}`);
  if (sparsities.length === 0) throw new ArgumentError('sparse soup: no sparsities');
  sparsities.forEach((s, i) => {
    if (!(s >= 0 && s < 1) || (i > 0 && s < sparsities[i - 1])) throw new ArgumentError(`sparse soup: sparsities must be in [0, 1) and not decreasing, got [${sparsities.join(', ')}]`);
  });
  const scope = options.scope ?? 'layer';
  const progress = options.onProgress ?? (() => {});

  const soup = options.createModel(options.seed);
  const layers = mlpSparseLayers(soup);
  let current = await snapshotWeights(options.model);
  let masks: Map<string, Uint8Array> = new Map(layers.map((l) => [l.name, Uint8Array.from(current.get(l.name)!, (w) => (w !== 0 ? 1 : 0))]));
  const cycles: SoupCycle[] = [];
  for (let cycle = 0; cycle < sparsities.length; cycle++) {
    masks = magnitudeMasks(layers, current, masks, 1 - sparsities[cycle], scope);
    const start = maskedWeights(current, masks);
    const trained: WeightSnapshot[] = [];
    const accuracies: number[] = [];
    for (let index = 0; index < ingredients; index++) {
      progress(`sparse soup: cycle ${cycle + 1}, ${(100 * sparsities[cycle]).toFixed(0)}% sparse, ingredient ${index + 1} of ${ingredients}`);
      const copy = options.createModel(options.seed + index);
      loadWeights(copy, start);
      const params = [...copy.parameters().values()];
      const optimizer = options.createOptimizer(params, index);
      const controller = new SparsityController(mlpSparseLayers(copy), new FixedMask(masks), optimizer);
      const r = await trainClassifier({ model: copy, train, test, optimizer, steps, batchSize, seed: options.seed + 1000 * cycle + index, schedule: options.schedule, controller });
      controller.dispose();
      const weights = await snapshotWeights(copy);
      for (const p of params) p.value.dispose();
      trained.push(weights);
      accuracies.push(r.testAccuracy);
      options.onIngredient?.({ cycle, index, weights, testAccuracy: r.testAccuracy });
    }
    const chosen = recipe === 'uniform' ? trained.map((_, i) => i) : await greedyChoice(soup, trained, options.heldOut!);
    current = averageWeights(chosen.map((i) => trained[i]));
    loadWeights(soup, current);
    cycles.push({
      cycle,
      targetSparsity: sparsities[cycle],
      ...maskAgreement(layers.map((l) => l.name), current, masks),
      ingredientAccuracies: accuracies,
      bestIngredientAccuracy: Math.max(...accuracies),
      soupAccuracy: await accuracy(soup, test),
      chosen,
      masks,
    });
  }
  return { cycles, soup, soupWeights: current };
}

/**
 * Greedy soup: ingredients by held-out accuracy, best first; each joins if the soup's held-out
 * accuracy with it is at least that without it. `evaluator` is a scratch model of the architecture.
 */
async function greedyChoice(evaluator: Mlp, trained: readonly WeightSnapshot[], heldOut: ClassificationDataset): Promise<number[]> {
  const score = async (members: readonly number[]) => {
    loadWeights(evaluator, averageWeights(members.map((i) => trained[i])));
    return accuracy(evaluator, heldOut);
  };
  // One at a time: the ingredients share the scratch model.
  const alone: number[] = [];
  for (let i = 0; i < trained.length; i++) alone.push(await score([i]));
  const order = trained.map((_, i) => i).sort((a, b) => alone[b] - alone[a] || a - b);
  const chosen = [order[0]];
  let best = alone[order[0]];
  for (const candidate of order.slice(1)) {
    const value = await score([...chosen, candidate]);
    if (value >= best) {
      chosen.push(candidate);
      best = value;
    }
  }
  return chosen;
}

/** The soup's sparsity over the masked layers, and how many pruned positions it fills. */
function maskAgreement(names: readonly string[], weights: ReadonlyMap<string, Float32Array>, masks: ReadonlyMap<string, Uint8Array>): { sparsity: number; prunedNonzero: number } {
  let zeros = 0;
  let total = 0;
  let prunedNonzero = 0;
  for (const name of names) {
    const w = weights.get(name)!;
    const mask = masks.get(name)!;
    total += w.length;
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) zeros++;
      else if (!mask[i]) prunedNonzero++;
    }
  }
  return { sparsity: total === 0 ? 0 : zeros / total, prunedNonzero };
}
