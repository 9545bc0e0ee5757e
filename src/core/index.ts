/** The tensor engine: tensors, ops, dtypes, the Backend interface. Browser-safe. */
export type * from './backend.js';
export * from './dtype.js';
export { getBackend, hasBackend, setBackend } from './engine.js';
export * from './errors.js';
export * from './op-table.js';
export * from './ops.js';
export * from './random.js';
export * from './rope.js';
export * from './shape.js';
export { keep, Tensor, type TensorContainer, tidy } from './tensor.js';
export * from './units.js';
