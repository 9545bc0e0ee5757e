/** Block-sparse prefill (MInference, Jiang et al. 2024): the patterns, the per-head choice, and the `prefill` object. */
export * from './blocks.js';
export * from './a-shape.js';
export * from './vertical-slash.js';
export * from './block-top-k.js';
export * from './head-patterns.js';
export * from './sparse-prefill.js';
