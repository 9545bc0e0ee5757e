/** Browser-safe data for training: parsers on bytes, token windows, synthetic tasks, batches. Files on disk: data/node/. */
export * from './data-error.js';
export * from './dataset.js';
export * from './idx.js';
export * from './cifar10.js';
export * from './text.js';
export * from './token-windows.js';
export * from './synthetic-teacher.js';
export * from './synthetic-images.js';
export * from './batches.js';
export * from './synthetic-informative.js';
