/**
 * Every error sparsekit raises on bad input is a SparsekitError with a stable `code`,
 * so the CLI can map it to an exit status and programs can branch on it without parsing text.
 */
export class SparsekitError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SparsekitError';
    this.code = code;
  }
}

/** Shapes, dtypes or arguments that an op cannot accept. */
export class ShapeError extends SparsekitError {
  constructor(message: string) {
    super('E_SHAPE', message);
    this.name = 'ShapeError';
  }
}

/** A value outside what a method or format allows (sparsity >= 1, N >= M, unknown names ...). */
export class ArgumentError extends SparsekitError {
  constructor(message: string) {
    super('E_ARGUMENT', message);
    this.name = 'ArgumentError';
  }
}
