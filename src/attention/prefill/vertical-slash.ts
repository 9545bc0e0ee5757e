/**
 * Vertical-slash prefill pattern (MInference, Jiang et al. 2024, §3.2): attention that
 * concentrates on a few key columns (vertical lines: sinks, delimiters) and a few fixed offsets
 * t - s (slash lines: local and periodic attention). Estimated online from the last
 * `lastQueries` queries of the prompt: their causal softmax attention, summed per key column
 * (vertical scores) and per diagonal offset (slash scores); the top `verticals` columns and top
 * `slashes` offsets are kept. As in the paper, the first `sinkColumns` columns and the
 * `localDiagonals` nearest offsets are always among them (they score +Infinity). The paper's
 * kernel then computes those columns and diagonals at sub-block grain; ours turns them into
 * blocks: a key block is kept for a query block when a kept column or diagonal crosses it.
 */
import { ArgumentError } from '../../core/errors.js';
import { dot, softmaxInPlace, topKIndices } from '../select.js';
import { blockCount, checkBlockSize, kvHeadOf, type PrefillInput, type PrefillPattern } from './blocks.js';

export interface VerticalSlashOptions {
  readonly blockSize?: number;
  /** Last prompt queries whose attention estimates the lines (default 64, the paper's). */
  readonly lastQueries?: number;
  /** Key columns kept, the forced sink columns included (default 64). */
  readonly verticals?: number;
  /** Diagonal offsets kept, the forced local ones included (default 64). */
  readonly slashes?: number;
  /** Leading columns always kept (default 4). */
  readonly sinkColumns?: number;
  /** Offsets 0.. always kept (default 1: the diagonal, so every query sees itself). */
  readonly localDiagonals?: number;
}

/** A head's estimated lines: kept key columns and kept offsets t - s, ascending. */
export interface VerticalSlashLines {
  readonly columns: Int32Array;
  readonly offsets: Int32Array;
}

export class VerticalSlashPattern implements PrefillPattern {
  readonly name = 'vertical-slash';
  readonly blockSize: number;
  readonly lastQueries: number;
  readonly verticals: number;
  readonly slashes: number;
  readonly sinkColumns: number;
  readonly localDiagonals: number;

  constructor(options: VerticalSlashOptions = {}) {
    this.blockSize = checkBlockSize(this.name, options.blockSize ?? 64);
    this.lastQueries = options.lastQueries ?? 64;
    this.verticals = options.verticals ?? 64;
    this.slashes = options.slashes ?? 64;
    this.sinkColumns = options.sinkColumns ?? 4;
    this.localDiagonals = options.localDiagonals ?? 1;
    for (const [name, v] of [['lastQueries', this.lastQueries], ['verticals', this.verticals], ['slashes', this.slashes], ['localDiagonals', this.localDiagonals]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`vertical-slash: ${name} ${v} must be a positive integer`);
    }
    if (!Number.isInteger(this.sinkColumns) || this.sinkColumns < 0) throw new ArgumentError(`vertical-slash: sinkColumns ${this.sinkColumns} must be a non-negative integer`);
  }

  /** The columns and offsets head `head` keeps for this prompt. */
  lines(input: PrefillInput, head: number): VerticalSlashLines {
    const { queries, keys, tokens: T, heads, kvHeads, headDim: D, scale } = input;
    const g = kvHeadOf(input, head);
    const vertical = new Float64Array(T);
    const slash = new Float64Array(T);
    for (let t = Math.max(0, T - this.lastQueries); t < T; t++) {
      const logits = new Float64Array(t + 1);
      for (let s = 0; s <= t; s++) logits[s] = scale * dot(queries, (t * heads + head) * D, keys, (s * kvHeads + g) * D, D);
      softmaxInPlace(logits);
      for (let s = 0; s <= t; s++) {
        vertical[s] += logits[s];
        slash[t - s] += logits[s];
      }
    }
    vertical.fill(Infinity, 0, Math.min(T, this.sinkColumns));
    slash.fill(Infinity, 0, Math.min(T, this.localDiagonals));
    return { columns: topKIndices(vertical, this.verticals), offsets: topKIndices(slash, this.slashes) };
  }

  fillHead(input: PrefillInput, head: number, out: Uint8Array): void {
    const { columns, offsets } = this.lines(input, head);
    const b = this.blockSize;
    const T = input.tokens;
    const n = blockCount(T, b);
    // A column c is seen by every query t >= c: its key block, for query blocks from its own on.
    for (const c of columns) for (let i = Math.floor(c / b); i < n; i++) out[i * n + Math.floor(c / b)] = 1;
    // Offset d crosses query block i's rows [first, last] at keys [first - d, last - d].
    for (const d of offsets) {
      for (let i = 0; i < n; i++) {
        const last = Math.min(T, (i + 1) * b) - 1 - d;
        if (last < 0) continue;
        for (let j = Math.floor(Math.max(0, i * b - d) / b); j <= Math.floor(last / b); j++) out[i * n + j] = 1;
      }
    }
  }
}
