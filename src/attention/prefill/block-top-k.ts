/**
 * Block top-k prefill pattern (MInference, Jiang et al. 2024, §3.2 "block-sparse"): queries and
 * keys are mean-pooled over each block, the pooled query of a query block scores every earlier
 * pooled key block (scale * q.k, a cheap stand-in for the block's attention), and the `topK`
 * best key blocks are computed. The diagonal block is always one of them: there each query sees
 * itself, and without it the first rows of a block could have no visible key at all.
 */
import { ArgumentError } from '../../core/errors.js';
import { dot, topKIndices } from '../select.js';
import { blockCount, checkBlockSize, kvHeadOf, type PrefillInput, type PrefillPattern } from './blocks.js';

export interface BlockTopKOptions {
  readonly blockSize?: number;
  /** Key blocks kept per query block, the diagonal one included (default 8). */
  readonly topK?: number;
}

export class BlockTopKPattern implements PrefillPattern {
  readonly name = 'block-top-k';
  readonly blockSize: number;
  readonly topK: number;

  constructor(options: BlockTopKOptions = {}) {
    this.blockSize = checkBlockSize(this.name, options.blockSize ?? 64);
    this.topK = options.topK ?? 8;
    if (!Number.isInteger(this.topK) || this.topK < 1) throw new ArgumentError(`block-top-k: topK ${this.topK} must be at least 1 (the diagonal block)`);
  }

  fillHead(input: PrefillInput, head: number, out: Uint8Array): void {
    const { queries, keys, tokens: T, heads, kvHeads, headDim: D, scale } = input;
    const b = this.blockSize;
    const n = blockCount(T, b);
    const pooledQ = meanPool(queries, T, heads, head, D, b);
    const pooledK = meanPool(keys, T, kvHeads, kvHeadOf(input, head), D, b);
    for (let i = 0; i < n; i++) {
      out[i * n + i] = 1;
      const scores = new Float64Array(i);
      for (let j = 0; j < i; j++) scores[j] = scale * dot(pooledQ, i * D, pooledK, j * D, D);
      for (const j of topKIndices(scores, this.topK - 1)) out[i * n + j] = 1;
    }
  }
}

/** Rows of head `head` of x [T, heads, D] averaged per block of `b` rows: [ceil(T / b), D]. */
function meanPool(x: Float32Array, T: number, heads: number, head: number, D: number, b: number): Float64Array {
  const n = blockCount(T, b);
  const out = new Float64Array(n * D);
  for (let t = 0; t < T; t++) {
    const o = Math.floor(t / b) * D;
    for (let c = 0; c < D; c++) out[o + c] += x[(t * heads + head) * D + c];
  }
  for (let i = 0; i < n; i++) {
    const rows = Math.min(T, (i + 1) * b) - i * b;
    for (let c = 0; c < D; c++) out[i * D + c] /= rows;
  }
  return out;
}
