/**
 * Block masks for sparse prefill (MInference, Jiang et al. 2024): what every pattern reads (one
 * prompt's queries and keys on the host) and writes (u8 [heads, queryBlocks, keyBlocks], 1 =
 * compute, the layout of core/ops.ts blockSparseAttention). Blocks are square (blockSize query
 * rows by blockSize key columns, the paper's 64x64); the last block of a prompt may be short.
 * Entries above the block diagonal stay 0: the op is causal, those blocks hold nothing visible.
 */
import { ArgumentError, ShapeError } from '../../core/errors.js';

/** One layer's prompt after RoPE: queries [T, heads, headDim] and keys [T, kvHeads, headDim]. */
export interface PrefillInput {
  readonly queries: Float32Array;
  readonly keys: Float32Array;
  readonly tokens: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Multiplier of q.k before the softmax (1 / sqrt(headDim)). */
  readonly scale: number;
}

/** A sparse-prefill pattern: fills one head's [blocks, blocks] mask for a prompt. */
export interface PrefillPattern {
  /** The pattern's name (a-shape, vertical-slash, block-top-k). */
  readonly name: string;
  readonly blockSize: number;
  /** Sets the kept entries of head `head`'s mask `out` ([n, n] row-major, n = ceil(T / blockSize), zeros on entry). */
  fillHead(input: PrefillInput, head: number, out: Uint8Array): void;
}

export function blockCount(tokens: number, blockSize: number): number {
  return Math.ceil(tokens / blockSize);
}

export function checkBlockSize(pattern: string, blockSize: number): number {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new ArgumentError(`${pattern}: blockSize ${blockSize} must be a positive integer`);
  return blockSize;
}

export function checkInput(input: PrefillInput): void {
  const { queries, keys, tokens: T, heads, kvHeads, headDim } = input;
  if (![T, heads, kvHeads, headDim].every((n) => Number.isInteger(n) && n > 0) || heads % kvHeads !== 0) {
    throw new ShapeError(`sparse prefill: tokens ${T}, heads ${heads}, kvHeads ${kvHeads} (dividing heads) and headDim ${headDim} must be positive integers`);
  }
  if (queries.length !== T * heads * headDim) throw new ShapeError(`sparse prefill: queries hold ${queries.length} values, expected [${T}, ${heads}, ${headDim}]`);
  if (keys.length !== T * kvHeads * headDim) throw new ShapeError(`sparse prefill: keys hold ${keys.length} values, expected [${T}, ${kvHeads}, ${headDim}]`);
}

/** The mask of every head, each by `patternOf(head)`: u8 [heads, n, n]. */
export function blockMask(input: PrefillInput, blockSize: number, patternOf: (head: number) => PrefillPattern): Uint8Array {
  checkInput(input);
  const n = blockCount(input.tokens, blockSize);
  const out = new Uint8Array(input.heads * n * n);
  for (let h = 0; h < input.heads; h++) {
    const pattern = patternOf(h);
    if (pattern.blockSize !== blockSize) throw new ArgumentError(`sparse prefill: head ${h}'s pattern ${pattern.name} uses blocks of ${pattern.blockSize}, the mask ${blockSize}`);
    pattern.fillHead(input, h, out.subarray(h * n * n, (h + 1) * n * n));
  }
  return out;
}

/** Share of the causal blocks (on or below the diagonal) a mask [heads, n, n] keeps. */
export function keptBlockShare(mask: Uint8Array, heads: number, n: number): number {
  let kept = 0;
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) kept += mask[(h * n + i) * n + j];
  return kept / ((heads * n * (n + 1)) / 2);
}

/** Query head h reads KV head h / (heads / kvHeads) (grouped-query attention). */
export function kvHeadOf(input: PrefillInput, head: number): number {
  return Math.floor(head / (input.heads / input.kvHeads));
}
