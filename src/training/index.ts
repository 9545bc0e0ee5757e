/** Sparse training: the controller and the methods (static, GMP, SET, RigL), their schedules and densities. Browser-safe. */
export { SparsityController } from './controller.js';
export { DENSITY_DISTRIBUTIONS, type DensityDistribution, erkScore, layerDensities } from './densities.js';
export type { TrainingSparsityHook } from './hook.js';
export { cosineDropFraction, cubicSparsity } from './schedules.js';
export type { MaskChange, MaskUpdateContext, SparseLayer, SparseTrainingMethod } from './types.js';
export { StaticSparse, type StaticSparseOptions } from './methods/static.js';
export { type DynamicSparseOptions } from './methods/dynamic.js';
export { SetMethod } from './methods/set.js';
export { Rigl } from './methods/rigl.js';
export { GradualMagnitudePruning, type GradualMagnitudeOptions } from './methods/gmp.js';
export { accuracy, trainClassifier, type ClassifierTrainingOptions, type ClassifierTrainingResult } from './classifier.js';
export * from './nm/index.js';
