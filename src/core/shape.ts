import { ShapeError } from './errors.js';

export type Shape = readonly number[];

/** Number of elements of a shape ([] is a scalar with one element). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function assertValidShape(shape: Shape, what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`${what} [${shape.join(', ')}] must hold non-negative integers`);
  }
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy broadcasting: align trailing dims; each pair must be equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides for reading an operand of shape `from` as if it had the broadcast shape `to`:
 * broadcast dims get stride 0, so one index walk serves every operand.
 */
export function broadcastStrides(from: Shape, to: Shape): number[] {
  const own = stridesOf(from);
  const out = new Array<number>(to.length).fill(0);
  for (let i = 0; i < from.length; i++) {
    const j = to.length - from.length + i;
    out[j] = from[i] === 1 && to[j] !== 1 ? 0 : own[i];
  }
  return out;
}

/** Resolves a possibly negative axis against a rank, with a clear error when out of range. */
export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Resolves one -1 in a reshape target against the element count. */
export function resolveReshape(size: number, target: Shape): number[] {
  const out = [...target];
  const inferred = out.indexOf(-1);
  if (inferred !== out.lastIndexOf(-1)) throw new ShapeError(`reshape to ${formatShape(target)}: at most one -1`);
  if (inferred >= 0) {
    const known = out.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
    if (known === 0 || size % known !== 0) throw new ShapeError(`cannot reshape ${size} elements to ${formatShape(target)}`);
    out[inferred] = size / known;
  }
  assertValidShape(out, 'reshape target');
  if (sizeOf(out) !== size) throw new ShapeError(`cannot reshape ${size} elements to ${formatShape(target)}`);
  return out;
}
