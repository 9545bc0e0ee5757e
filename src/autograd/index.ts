/**
 * Reverse-mode autograd over the engine (variable.ts) and its ops. Browser-safe.
 *
 *   const w = parameter(randomNormal([10, 4], 1)); const x = constant(input);
 *   const loss = crossEntropy(linear(x, w), targets);
 *   backward(loss);          // w.grad now holds dloss/dw
 */
export { backward, type BackwardOptions, constant, noGrad, parameter, record, Variable, type VectorJacobianProduct, zeroGrad } from './variable.js';
export { sumToShape } from './broadcast.js';
export { add, addScalar, affine, div, exp, gelu, geluTanh, log, mul, neg, reciprocal, relu, rsqrt, scale, sigmoid, silu, sqrt, square, sub, tanh } from './ops/elementwise.js';
export { linear, matmul } from './ops/linalg.js';
export { concat, reshape, slice, transpose } from './ops/layout.js';
export { mean, meanAll, sum, sumAll } from './ops/reduce.js';
export { crossEntropy, dropout, embedding, layerNorm, logSoftmax, oneHot, rmsNorm, rope, softmax } from './ops/nn.js';
export { avgPool2d, conv2d, type Conv2dOptions, maxPool2d, type Pool2dOptions } from './ops/conv.js';
