/**
 * A pattern per head, chosen offline (MInference, Jiang et al. 2024, §3.2: heads keep their
 * pattern kind across inputs, so the paper assigns each head one offline by a kernel-aware
 * search). Our rule, documented because it differs from the paper's: on a calibration prompt,
 * each candidate pattern's mask is scored by its recall — the share of the head's dense causal
 * attention mass that falls inside kept blocks, averaged over query rows — and its cost (the share
 * of causal blocks kept); the head gets the cheapest candidate whose recall reaches
 * `targetRecall` (default 0.95), or the candidate with the best recall when none does. The paper
 * instead fixes equal FLOPs across candidates and takes the best recall; ours lets candidates of
 * different cost compete and buys recall only where a head needs it.
 *
 * The calibration prompt's queries and keys come from a forward pass with a PrefillRecorder as
 * `prefill` (it keeps every block, so that pass is dense, and records each layer's input).
 */
import { ArgumentError } from '../../core/errors.js';
import { tensor } from '../../core/ops.js';
import type { Tensor } from '../../core/tensor.js';
import type { BlockSparsePrefill } from '../../models/llama.js';
import { dot, softmaxInPlace } from '../select.js';
import { blockCount, checkInput, keptBlockShare, kvHeadOf, type PrefillInput, type PrefillPattern } from './blocks.js';
import { prefillInput } from './sparse-prefill.js';

export interface HeadPatternScore {
  readonly recall: number;
  readonly keptShare: number;
}

export class HeadPatterns {
  readonly blockSize: number;

  /**
   * @param candidates the patterns to choose among (one block size)
   * @param choice choice[layer][head]: index into candidates
   * @param scores scores[layer][head][candidate] on the calibration prompt (empty when assigned by hand)
   */
  constructor(
    readonly candidates: readonly PrefillPattern[],
    readonly choice: readonly (readonly number[])[],
    readonly scores: readonly (readonly (readonly HeadPatternScore[])[])[] = [],
  ) {
    if (candidates.length === 0) throw new ArgumentError('head patterns: no candidate patterns');
    this.blockSize = candidates[0].blockSize;
    if (candidates.some((c) => c.blockSize !== this.blockSize)) throw new ArgumentError(`head patterns: candidates use different block sizes (${candidates.map((c) => c.blockSize)}); one mask needs one`);
    for (const row of choice) for (const c of row) if (!Number.isInteger(c) || c < 0 || c >= candidates.length) throw new ArgumentError(`head patterns: choice ${c} is not a candidate index`);
  }

  patternOf(layer: number, head: number): PrefillPattern {
    const c = this.choice[layer]?.[head];
    if (c === undefined) throw new ArgumentError(`head patterns cover ${this.choice.length} layers of [${this.choice.map((r) => r.length)}] heads; layer ${layer} head ${head} has no pattern`);
    return this.candidates[c];
  }

  /** Heads per pattern, e.g. "a-shape 5, vertical-slash 3". */
  describe(): string {
    const counts = this.candidates.map(() => 0);
    for (const row of this.choice) for (const c of row) counts[c]++;
    return this.candidates.map((p, i) => `${p.name} ${counts[i]}`).join(', ');
  }
}

export interface HeadPatternCalibration {
  /** The recall a candidate must reach to be chosen for its cost (default 0.95). */
  readonly targetRecall?: number;
}

/** Chooses each head's pattern from one calibration prompt per layer (see the file comment). */
export function calibrateHeadPatterns(samples: readonly PrefillInput[], candidates: readonly PrefillPattern[], options: HeadPatternCalibration = {}): HeadPatterns {
  const target = options.targetRecall ?? 0.95;
  if (!(target > 0 && target <= 1)) throw new ArgumentError(`head patterns: targetRecall ${target} must lie in (0, 1]`);
  const blockSize = candidates[0]?.blockSize ?? 1;
  const scores = samples.map((input) => {
    checkInput(input);
    const n = blockCount(input.tokens, blockSize);
    return Array.from({ length: input.heads }, (_, h) => {
      const probs = causalAttention(input, h);
      return candidates.map((pattern) => {
        const mask = new Uint8Array(n * n);
        pattern.fillHead(input, h, mask);
        return { recall: recall(probs, input.tokens, mask, blockSize), keptShare: keptBlockShare(mask, 1, n) };
      });
    });
  });
  const choice = scores.map((layer) =>
    layer.map((head) => {
      const reaching = head.map((s, i) => ({ ...s, i })).filter((s) => s.recall >= target);
      const pool = reaching.length > 0 ? reaching.sort((a, b) => a.keptShare - b.keptShare || b.recall - a.recall) : head.map((s, i) => ({ ...s, i })).sort((a, b) => b.recall - a.recall);
      return pool[0].i;
    }),
  );
  return new HeadPatterns(candidates, choice, scores);
}

/** Head h's dense causal attention probabilities, row t holding [0, t] (rows packed). */
function causalAttention(input: PrefillInput, h: number): Float64Array[] {
  const { queries, keys, tokens: T, heads, kvHeads, headDim: D, scale } = input;
  const g = kvHeadOf(input, h);
  return Array.from({ length: T }, (_, t) => {
    const row = new Float64Array(t + 1);
    for (let s = 0; s <= t; s++) row[s] = scale * dot(queries, (t * heads + h) * D, keys, (s * kvHeads + g) * D, D);
    softmaxInPlace(row);
    return row;
  });
}

/** Mean over query rows of the attention mass inside kept blocks of a [n, n] mask. */
function recall(probs: readonly Float64Array[], T: number, mask: Uint8Array, b: number): number {
  const n = blockCount(T, b);
  let total = 0;
  for (let t = 0; t < T; t++) {
    const rowMask = Math.floor(t / b) * n;
    for (let s = 0; s <= t; s++) if (mask[rowMask + Math.floor(s / b)]) total += probs[t][s];
  }
  return total / T;
}

/**
 * A `prefill` that keeps every block (so the pass equals dense attention) and records each
 * layer's queries and keys: the calibration samples of calibrateHeadPatterns.
 */
export class PrefillRecorder implements BlockSparsePrefill {
  readonly inputs: PrefillInput[] = [];

  constructor(readonly blockSize = 64) {}

  blocks(layer: number, queries: Tensor, keys: Tensor, scale: number): Tensor {
    const input = prefillInput(queries, keys, scale);
    this.inputs[layer] = input;
    const n = blockCount(input.tokens, this.blockSize);
    return tensor(new Uint8Array(input.heads * n * n).fill(1), [input.heads, n, n], 'u8', queries.backend);
  }
}
