import { SparsekitError } from '../core/errors.js';

/**
 * Data that cannot be used for training: a malformed IDX or CIFAR-10 file, a text shorter than
 * one window, a file that is missing or too large. The message starts with the source it is
 * about (a file path, or a name such as "IDX data" for bytes handed over in memory), because
 * "truncated header" alone does not say which of the four MNIST files is broken.
 * The code is E_INPUT for malformed data (the CLI maps it to the "input" exit status) and
 * E_NOT_FOUND for a file that does not exist.
 */
export class DataError extends SparsekitError {
  /** The file path or name the error is about. */
  readonly source: string;

  constructor(source: string, detail: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'E_INPUT', `${source}: ${detail}`);
    this.name = 'DataError';
    this.source = source;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
