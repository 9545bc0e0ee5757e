import { SparsekitError } from '../core/errors.js';

/** Which tensor an error is about, and the lower-level error (fs, JSON.parse ...) that caused it. */
export interface SafetensorsErrorContext {
  tensor?: string;
  cause?: unknown;
}

/**
 * A safetensors file (or a request to read or write one) that cannot be honoured.
 * The message always starts with the file name, then the tensor name when one is involved,
 * because a model directory often holds dozens of shards and "invalid dtype" alone is useless.
 */
export class SafetensorsError extends SparsekitError {
  readonly fileName: string;
  readonly tensorName: string | undefined;

  constructor(fileName: string, detail: string, context: SafetensorsErrorContext = {}) {
    const where = context.tensor === undefined ? fileName : `${fileName}: tensor ${JSON.stringify(context.tensor)}`;
    super('E_SAFETENSORS', `${where}: ${detail}`);
    this.name = 'SafetensorsError';
    this.fileName = fileName;
    this.tensorName = context.tensor;
    if (context.cause !== undefined) this.cause = context.cause;
  }
}
