/** Sparse formats (Mask, CSR, bitmap, BSR, N:M) and linear(). Browser-safe. */
export * from './bitmap.js';
export * from './bsr.js';
export * from './csr.js';
export * from './linear.js';
export * from './mask.js';
export * from './nm.js';
export * from './pattern.js';
export * from './unstructured.js';
