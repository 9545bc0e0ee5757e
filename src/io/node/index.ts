/** Node-only io: everything that touches node:fs. */
export * from './file-source.js';
export * from './safetensors-file.js';
export * from './atomic-file.js';
export * from './inspect.js';
export * from './tokenizer-file.js';
export * from './text-file.js';
