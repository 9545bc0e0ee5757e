/**
 * The N:M training benchmark's cases (teacher-student MLP, src/bench/training.ts): at each
 * pattern, plain STE, SR-STE (lambda_W = 2e-4), SR-STE with MDGF-Exponential, SDGF-Stepwise;
 * dense is the benchmark's own dense case. nmTrainingCases() gives each case a name and the
 * controller to train it with.
 */
import type { SparseLayer } from '../types.js';
import { type NmRecipe, nmSparseTraining } from './recipes.js';
import type { NmStraightThroughController } from './straight-through.js';
import type { NmShape } from './types.js';

export interface NmTrainingCase {
  /** e.g. 'sr-ste 2:4'. */
  readonly name: string;
  readonly pattern: NmShape;
  readonly recipe: NmRecipe;
  /** A fresh controller over the model's layers for a run of `totalSteps`. */
  controller(layers: readonly SparseLayer[], totalSteps: number): NmStraightThroughController;
}

/** The recipes, in the order reported. */
export const NM_BENCH_RECIPES: readonly { readonly label: string; readonly recipe: NmRecipe }[] = [
  { label: 'ste', recipe: { method: 'ste' } },
  { label: 'sr-ste', recipe: { method: 'sr-ste' } },
  { label: 'sr-ste+mdgf-exp', recipe: { method: 'mdgf', decay: 'exponential', srsteDecay: 2e-4 } },
  { label: 'sdgf-stepwise', recipe: { method: 'sdgf', structure: 'stepwise' } },
];

export const NM_BENCH_PATTERNS: readonly NmShape[] = [
  { n: 2, m: 4 },
  { n: 1, m: 4 },
];

export function nmTrainingCases(patterns: readonly NmShape[] = NM_BENCH_PATTERNS, recipes = NM_BENCH_RECIPES): NmTrainingCase[] {
  return patterns.flatMap((pattern) =>
    recipes.map(({ label, recipe }) => ({
      name: `${label} ${pattern.n}:${pattern.m}`,
      pattern,
      recipe,
      controller: (layers: readonly SparseLayer[], totalSteps: number) => nmSparseTraining(layers, pattern, totalSteps, recipe),
    })),
  );
}
