/** Optimizers, learning-rate schedules and gradient clipping. Browser-safe. */
export { type Optimizer } from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { Sgd, type SgdOptions } from './sgd.js';
export { constantRate, type LearningRateSchedule, warmupCosine, type WarmupCosineOptions } from './schedule.js';
export { clipGradNorm } from './clip.js';
