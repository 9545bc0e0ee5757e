/** Browser-safe file formats. Node-only helpers (files on disk) live in io/node/. */
export * from './byte-source.js';
export * from './float-bits.js';
export * from './safetensors-decode.js';
export * from './safetensors-encode.js';
export * from './safetensors-error.js';
export * from './safetensors-format.js';
export * from './safetensors-reader.js';
export * from './config-text.js';
