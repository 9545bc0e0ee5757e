/** N:M sparse training from scratch: the straight-through controller, SR-STE, MDGF and SDGF schedules, recipes. Browser-safe. */
export { type MaskDecayTarget, nmMaskByMagnitude, NmStraightThroughController, type NmStraightThroughOptions } from './straight-through.js';
export { checkSrSteDecay, SR_STE_PAPER_DECAY } from './sr-ste.js';
export { ExponentialMaskDecay, type ExponentialMaskDecayOptions } from './mdgf-exponential.js';
export { LinearMaskDecay, type LinearMaskDecayOptions } from './mdgf-linear.js';
export { StepwiseStructureDecay } from './sdgf-stepwise.js';
export { GeometricStructureDecay, type GeometricStructureOptions } from './sdgf-geometric.js';
export { FramedStructure, type StructurePhases } from './frames.js';
export { type NmRecipe, nmSparseTraining } from './recipes.js';
export { NM_BENCH_PATTERNS, NM_BENCH_RECIPES, type NmTrainingCase, nmTrainingCases } from './bench-cases.js';
export type { MaskDecaySchedule, NmShape, StructureSchedule } from './types.js';
