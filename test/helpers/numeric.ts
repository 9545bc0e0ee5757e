/** Comparison helpers for kernels against their references. */
import type { TypedArray } from '../../src/core/dtype.js';

/**
 * Norm-wise relative error max|got - want| / max|want|: per-element relative error is
 * meaningless where a sum cancels to near zero, so kernels are judged against the scale of the output.
 */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (Number.isNaN(d)) return Infinity;
    num = Math.max(num, d);
    den = Math.max(den, Math.abs(want[i]));
  }
  return den === 0 ? num : num / den;
}

export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number, what: string): void {
  const err = relativeError(got, want);
  if (!(err <= tolerance)) {
    throw new Error(`${what}: relative error ${err.toExponential(3)} exceeds ${tolerance.toExponential(1)} (length ${got.length} vs ${want.length})`);
  }
}

export function toArray(t: TypedArray): number[] {
  return Array.from(t);
}
