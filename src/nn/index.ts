/** Modules (Linear, Mlp) and optimizers. Browser-safe. */
export { childParameters, type Module } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { ACTIVATIONS, type ActivationName, Mlp } from './mlp.js';
export * from './optim/index.js';
