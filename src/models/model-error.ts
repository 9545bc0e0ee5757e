import { SparsekitError } from '../core/errors.js';

/**
 * A model folder, config or checkpoint that sparsekit cannot use: a missing or malformed file, a
 * field or tensor that does not fit. The message starts with the file (and the field or tensor)
 * it is about, because "shape mismatch" alone is useless in a folder of dozens of shards.
 */
export class ModelError extends SparsekitError {
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(options.code ?? 'E_MODEL', message);
    this.name = 'ModelError';
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** `file: tensor "name": detail`, the shape of every tensor-level message. */
export function tensorMessage(file: string, tensor: string, detail: string): string {
  return `${file}: tensor ${JSON.stringify(tensor)}: ${detail}`;
}

export function formatDims(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
