/** Node-only data: reading IDX, CIFAR-10 and text files from local paths. */
export * from './files.js';
