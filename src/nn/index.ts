/** Modules (Linear, Mlp, Conv2d, Cnn, norms, Embedding) and optimizers. Browser-safe. */
export { childParameters, type Module } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { ACTIVATIONS, type ActivationName, Mlp } from './mlp.js';
export { Conv2d, type Conv2dLayerOptions } from './conv2d.js';
export { Cnn, type CnnOptions } from './cnn.js';
export { LayerNorm, type NormOptions, RMSNorm } from './norms.js';
export { Embedding } from './embedding.js';
export type { ClassifierModel } from './classifier-model.js';
export * from './optim/index.js';
