/** Shared by the sparse tests: seeded random matrices, arbitraries and the dense reference product. */
import fc from 'fast-check';
import { gemmReference } from '../../src/backends/cpu/reference/matmul.js';
import { Random } from '../../src/core/random.js';

/** fast-check settings: seeded so that every run checks the same cases. */
export const FC = { seed: 0x5ba45e, numRuns: 60 } as const;

/** A value drawn from N(0, 1), never zero (so "nonzero" means exactly the positions chosen). */
export function nonzeroNormal(rng: Random): number {
  const v = Math.fround(rng.normal());
  return v === 0 ? 1 : v;
}

/** A [rows, cols] matrix whose elements are nonzero with probability `density`. */
export function randomSparse(rows: number, cols: number, density: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) if (rng.uniform() < density) out[i] = nonzeroNormal(rng);
  return out;
}

/** Dense N(0, 1) values. */
export function randomDense(size: number, seed: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** A matrix that is n:m sparse: each group holds between 0 and n nonzeros at random positions (n when `full`). */
export function randomNmDense(rows: number, cols: number, n: number, m: number, seed: number, full = false): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(rows * cols);
  const positions = Array.from({ length: m }, (_, p) => p);
  for (let g = 0; g < (rows * cols) / m; g++) {
    const count = full ? n : rng.int(n + 1);
    rng.shuffle(positions);
    for (let j = 0; j < count; j++) out[g * m + positions[j]] = nonzeroNormal(rng);
  }
  return out;
}

/** A matrix of blockRows x blockCols tiles, each all-zero with probability 1 - tileDensity, else holding elements nonzero with probability elementDensity. */
export function randomBlockSparse(
  rows: number,
  cols: number,
  blockRows: number,
  blockCols: number,
  tileDensity: number,
  elementDensity: number,
  seed: number,
): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(rows * cols);
  for (let R = 0; R < rows / blockRows; R++) {
    for (let C = 0; C < cols / blockCols; C++) {
      if (rng.uniform() >= tileDensity) continue;
      for (let r = 0; r < blockRows; r++) {
        for (let c = 0; c < blockCols; c++) {
          if (rng.uniform() < elementDensity) out[(R * blockRows + r) * cols + C * blockCols + c] = nonzeroNormal(rng);
        }
      }
    }
  }
  return out;
}

/** y [batch, rows] = x [batch, cols] W^T with W dense [rows, cols]: gemmReference, the dense reference. */
export function denseLinear(x: Float32Array, batch: number, w: Float32Array, rows: number, cols: number): Float32Array {
  const y = new Float32Array(batch * rows);
  gemmReference(x, 0, w, 0, y, 0, batch, rows, cols, false, true);
  return y;
}

export function countNonzero(values: ArrayLike<number>): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  return count;
}

/** Matrix sizes and densities: the edges (1 x 1, one row, fully empty, fully dense) come up often. */
export const sparseMatrixArb = fc.record({
  rows: fc.integer({ min: 1, max: 12 }),
  cols: fc.integer({ min: 1, max: 20 }),
  density: fc.constantFrom(0, 0.05, 0.2, 0.5, 0.9, 1),
  seed: fc.integer(),
});

/** Every value equal, as bits (so -0 and NaN payloads would be told apart). */
export function sameBits(got: Float32Array, want: Float32Array): boolean {
  if (got.length !== want.length) return false;
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
