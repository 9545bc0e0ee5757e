/**
 * N:M patterns (Mishra et al. 2021, "Accelerating Sparse Deep Neural Networks"): `N:M` keeps N
 * nonzeros in every M consecutive weights along the input (reduction) dimension, so 2:4 is 50%
 * sparse. Parsed and printed this one way everywhere (peers disagree on the naming).
 */
import { ArgumentError } from '../core/errors.js';
import { MAX_NM_GROUP } from '../core/sparse-layout.js';

export { bitsPerIndexFor, MAX_NM_GROUP, nmIndexRowBytes, readPackedIndex, writePackedIndex } from '../core/sparse-layout.js';

export interface NmPattern {
  /** Nonzeros kept per group. */
  readonly n: number;
  /** Group length along the input dimension. */
  readonly m: number;
}


/**
 * Throws an ArgumentError unless 1 <= n < m <= 256 (both integers). `where` opens the message
 * (default: "N:M pattern n:m").
 */
export function validateNm(n: number, m: number, where = `N:M pattern ${n}:${m}`): void {
  if (!Number.isInteger(n) || !Number.isInteger(m)) throw new ArgumentError(`${where}: N and M must be integers`);
  if (n < 1) throw new ArgumentError(`${where}: N must be at least 1 (N nonzeros are kept in every M consecutive weights)`);
  if (m < 2 || m > MAX_NM_GROUP) throw new ArgumentError(`${where}: M must be between 2 and ${MAX_NM_GROUP}`);
  if (n >= m) {
    throw new ArgumentError(`${where}: N must be smaller than M (N nonzeros are kept in every M consecutive weights, so ${n}:${m} would not be sparse)`);
  }
}

/** '2:4' -> { n: 2, m: 4 }; whitespace around the numbers is allowed. */
export function parseNm(text: string): NmPattern {
  const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (!match) throw new ArgumentError(`'${text}' is not an N:M pattern: expected two integers as 'N:M', e.g. '2:4' (2 nonzeros in every 4 weights)`);
  const n = Number(match[1]);
  const m = Number(match[2]);
  validateNm(n, m, `N:M pattern '${text}'`);
  return { n, m };
}

/** { n: 2, m: 4 } -> '2:4'. */
export function formatNm(pattern: NmPattern): string {
  validateNm(pattern.n, pattern.m);
  return `${pattern.n}:${pattern.m}`;
}

/** The fraction of zeros an N:M pattern guarantees: 1 - n/m. */
export function nmSparsity(pattern: NmPattern): number {
  validateNm(pattern.n, pattern.m);
  return 1 - pattern.n / pattern.m;
}
