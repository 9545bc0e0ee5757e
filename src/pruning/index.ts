/**
 * Post-training pruning: recipes (one or more steps), calibration, the pipeline that prunes a
 * DecoderModel block by block, structured (CFSP) pruning, and the method, pattern, refiner and
 * allocator families behind them. Browser-safe.
 */
export { applyPruneSteps, type StepHooks, type StepsOutcome } from './apply-steps.js';
export { needsCalibration, pruneModel, withLinears, type PrunedLayerReport, type PruneOutcome, type PruneProgress } from './pipeline.js';
export { pruneStructured, type StructuredOutcome } from './structured.js';
export { sampleCalibration, type CalibrationSampling } from './calibration.js';
export {
  ALLOCATION_NAMES,
  METHOD_NAMES,
  parseRecipe,
  PruneRecipeSchema,
  PruneStepSchema,
  REFINER_NAMES,
  validateRecipe,
  type PruneRecipe,
  type PruneStep,
} from './recipe.js';
export { methodByName, parsePatternSpec, patternByName, refinerByName } from './registry.js';
export type { Allocator, LinearInputStats, Pattern, PatternSpec, PruneMethod, PruneResult, PruneTarget, Refiner } from './types.js';
export type { PruneReport, ModelMeasurement } from './report.js';
