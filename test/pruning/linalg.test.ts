import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';
import { cholesky, choleskyInverse, inverseSpd, NotPositiveDefiniteError, upperCholesky, upperCholeskyOfInverse } from '../../src/pruning/linalg.js';

/** A X^T X + shift I for a random X [2n, n]: SPD, condition number moderate. */
function randomSpd(n: number, seed: number, shift = 0.1): Float64Array {
  const rng = new Random(seed);
  const x = Array.from({ length: 2 * n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? shift : 0;
      for (let t = 0; t < 2 * n; t++) s += x[t * n + i] * x[t * n + j];
      a[i * n + j] = s;
    }
  }
  return a;
}

function matmul(a: Float64Array, b: Float64Array, n: number, transposeA = false): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (transposeA ? a[k * n + i] : a[i * n + k]) * b[k * n + j];
      c[i * n + j] = s;
    }
  }
  return c;
}

function transpose(a: Float64Array, n: number): Float64Array {
  return Float64Array.from({ length: n * n }, (_, i) => a[(i % n) * n + Math.floor(i / n)]);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const identity = (n: number) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

describe('linalg (f64, for SparseGPT)', () => {
  it('factors a small matrix by hand: [[4, 2], [2, 3]] = L L^T with L = [[2, 0], [1, sqrt 2]]', () => {
    assert.deepEqual([...cholesky(Float64Array.from([4, 2, 2, 3]), 2)], [2, 0, 1, Math.SQRT2]);
    const inv = inverseSpd(Float64Array.from([4, 2, 2, 3]), 2);
    assert.ok(maxAbsDiff(inv, [3 / 8, -2 / 8, -2 / 8, 4 / 8]) < 1e-15);
  });

  for (const n of [1, 5, 33, 64]) {
    it(`n = ${n}: L L^T = A, A A^-1 = I, U^T U = A^-1 with U upper triangular`, () => {
      const a = randomSpd(n, n);
      const l = cholesky(a, n);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(l[i * n + j], 0);
      const scale = Math.max(...a);
      assert.ok(maxAbsDiff(matmul(l, transpose(l, n), n), a) < 1e-12 * scale);
      const inv = choleskyInverse(l, n);
      assert.ok(maxAbsDiff(matmul(a, inv, n), identity(n)) < 1e-9);
      assert.ok(maxAbsDiff(inv, transpose(inv, n)) === 0, 'the inverse is exactly symmetric');
      const u = upperCholeskyOfInverse(a, n);
      for (let i = 0; i < n; i++) {
        assert.ok(u[i * n + i] > 0);
        for (let j = 0; j < i; j++) assert.equal(u[i * n + j], 0);
      }
      assert.ok(maxAbsDiff(matmul(u, u, n, true), inv) < 1e-12 * Math.max(...inv));
      assert.deepEqual(upperCholesky(a, n), transpose(l, n));
    });
  }

  it('rejects indefinite, singular, non-symmetric and NaN matrices with NotPositiveDefiniteError', () => {
    const bad: [number[], RegExp][] = [
      [[1, 2, 2, 1], /pivot 1 of 2/],
      [[1, 1, 1, 1], /pivot 1 of 2/],
      [[0, 0, 0, 0], /pivot 0 of 2/],
      [[-1, 0, 0, 1], /pivot 0 of 2/],
      [[1, 0.5, 0.4, 1], /not symmetric/],
      [[NaN, 0, 0, 1], /entry \(0, 0\) is NaN/],
      [[1, 0, Infinity, 1], /entry \(1, 0\) is Infinity/],
    ];
    for (const [m, message] of bad) {
      assert.throws(() => cholesky(Float64Array.from(m), 2), (e: unknown) => e instanceof NotPositiveDefiniteError && message.test(e.message), JSON.stringify(m));
    }
    assert.throws(() => cholesky(new Float64Array(5), 2), /not a 2 x 2 matrix/);
  });
});
