/** Seeded random host data for tests. */
import { Random } from '../../src/core/random.js';

export function randomArray(length: number, seed: number, scale = 1): Float32Array {
  const rng = new Random(seed);
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = rng.normal() * scale;
  return a;
}

export function randomInts(length: number, seed: number, high: number): Int32Array {
  const rng = new Random(seed);
  return Int32Array.from({ length }, () => rng.int(high));
}
