/**
 * The dense linear algebra SparseGPT needs (Frantar & Alistarh 2023, "SparseGPT: Massive
 * Language Models Can Be Accurately Pruned in One-Shot", sec. 3 and Alg. 1), in f64 with plain
 * loops: the Cholesky factorisation of a symmetric positive definite (SPD) matrix, the inverse
 * from that factor, and the upper Cholesky factor of the inverse -- upstream's
 * `cholesky(cholesky_inverse(cholesky(H)), upper=True)`. Matrices are n x n, row-major.
 */
import { ArgumentError } from '../core/errors.js';

/** Raised when a matrix is not symmetric positive definite (SparseGPT catches it to raise its dampening). */
export class NotPositiveDefiniteError extends ArgumentError {
  /** The column where the factorisation broke down; -1 when the matrix is not finite or not symmetric (no dampening helps). */
  readonly pivot: number;

  constructor(message: string, pivot: number) {
    super(message);
    this.name = 'NotPositiveDefiniteError';
    this.pivot = pivot;
  }
}

/**
 * Lower-triangular L with L L^T = a. Reads the lower triangle after checking that a is finite and
 * symmetric to `symmetryTolerance` relative to its largest diagonal entry (a Gram matrix summed
 * in floating point may differ from its transpose in the last bits). Throws
 * NotPositiveDefiniteError when a pivot is not positive.
 */
export function cholesky(a: Float64Array, n: number, symmetryTolerance = 1e-6): Float64Array {
  checkSquare(a, n, 'cholesky');
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(a[i])) throw new NotPositiveDefiniteError(`cholesky: entry (${Math.floor(i / n)}, ${i % n}) is ${a[i]}`, -1);
  }
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + i]));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (!(Math.abs(a[i * n + j] - a[j * n + i]) <= symmetryTolerance * scale)) {
        throw new NotPositiveDefiniteError(`cholesky: the matrix is not symmetric (entries (${i}, ${j}) = ${a[i * n + j]} and (${j}, ${i}) = ${a[j * n + i]})`, -1);
      }
    }
  }
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    // L_jj = sqrt(a_jj - sum_k<j L_jk^2); L_ij = (a_ij - sum_k<j L_ik L_jk) / L_jj for i > j.
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 0)) {
      throw new NotPositiveDefiniteError(`cholesky: the matrix is not positive definite (pivot ${j} of ${n} is ${d})`, j);
    }
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** a^-1 from the lower Cholesky factor l of a: (L L^T)^-1 = L^-T L^-1 (torch.cholesky_inverse). */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  checkSquare(l, n, 'choleskyInverse');
  // M = L^-1 by forward substitution, a row at a time (contiguous): from L M = I,
  // M[i, :] = (e_i - sum_{k<i} L_ik M[k, :]) / L_ii, and M is lower triangular.
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    m[row + i] = 1;
    for (let k = 0; k < i; k++) {
      const lik = l[row + k];
      for (let c = 0; c <= k; c++) m[row + c] -= lik * m[k * n + c];
    }
    for (let c = 0; c <= i; c++) m[row + c] /= l[row + i];
  }
  // a^-1 = M^T M = sum over k of the outer product of row k of M with itself.
  const inv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i <= k; i++) {
      const mki = m[k * n + i];
      for (let j = 0; j <= i; j++) inv[i * n + j] += mki * m[k * n + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inv[j * n + i] = inv[i * n + j];
  return inv;
}

/** The inverse of an SPD matrix through its Cholesky factor. */
export function inverseSpd(a: Float64Array, n: number): Float64Array {
  return choleskyInverse(cholesky(a, n), n);
}

/** Upper-triangular U with U^T U = a (torch.linalg.cholesky(a, upper=True)): the transpose of the lower factor. */
export function upperCholesky(a: Float64Array, n: number): Float64Array {
  return transpose(cholesky(a, n), n);
}

/** Upper Cholesky factor of a^-1 for SPD a: what SparseGPT's column loop reads its rows from. */
export function upperCholeskyOfInverse(a: Float64Array, n: number): Float64Array {
  return upperCholesky(inverseSpd(a, n), n);
}

function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

function checkSquare(a: Float64Array, n: number, where: string): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new ArgumentError(`${where}: ${a.length} entries are not a ${n} x ${n} matrix`);
}
