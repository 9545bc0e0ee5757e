/** KV-cache policies for long-context decoding: the interface, the policies, the registry and the cache that runs them. */
export * from './budget.js';
export * from './policy.js';
export * from './select.js';
export * from './page-bounds.js';
export * from './full.js';
export * from './streaming-llm.js';
export * from './h2o.js';
export * from './snapkv.js';
export * from './pyramidkv.js';
export * from './quest.js';
export * from './token-select.js';
export * from './double-sparsity.js';
export * from './duo-attention.js';
export * from './lserve.js';
export * from './zipvl.js';
export * from './registry.js';
export * from './policy-cache.js';
