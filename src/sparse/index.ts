/** Sparse formats (Mask, CSR, BSR, N:M) and linear(). Browser-safe. */
export * from './bsr.js';
export * from './csr.js';
export * from './linear.js';
export * from './mask.js';
export * from './nm.js';
export * from './pattern.js';
