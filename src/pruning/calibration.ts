/**
 * Calibration for post-training pruning: token windows sampled (seeded) from text, and a
 * sequential walk over the decoder blocks that gathers each Linear's input statistics in one
 * pass per block, lets the caller prune the block, and feeds the pruned block's outputs to the
 * next one (as Wanda's and SparseGPT's code do: block i is calibrated on the outputs of the
 * already-pruned blocks before it). Statistics are running sums, so memory stays bounded by one
 * block's activations whatever the number of tokens.
 */
import { ArgumentError } from '../core/errors.js';
import { matmul } from '../core/ops.js';
import { Random } from '../core/random.js';
import { type Tensor, tidy } from '../core/tensor.js';
import { layerShapeOf } from '../models/decoder-config.js';
import type { DecoderLayerWeights } from '../models/decoder-weights.js';
import type { KVCache } from '../models/kv-cache.js';
import type { DecoderModel, LinearInputGroup, SequenceStep } from '../models/llama.js';
import type { LinearInputStats } from './types.js';

export interface CalibrationSampling {
  /** Windows to draw. */
  readonly sequences: number;
  /** Tokens per window. */
  readonly length: number;
  readonly seed: number;
}

/** `sequences` windows of `length` tokens at seeded uniform offsets of a token stream (the Wanda/SparseGPT C4 recipe). */
export function sampleCalibration(tokens: readonly number[], sampling: CalibrationSampling): number[][] {
  const { sequences, length, seed } = sampling;
  if (!Number.isInteger(sequences) || sequences < 1) throw new ArgumentError(`calibration sequences must be a positive integer, got ${sequences}`);
  if (!Number.isInteger(length) || length < 2) throw new ArgumentError(`calibration length must be an integer >= 2, got ${length}`);
  if (tokens.length < length + 1) {
    throw new ArgumentError(`the calibration text has ${tokens.length} tokens; ${length}-token windows need at least ${length + 1}`);
  }
  const rng = new Random(seed);
  return Array.from({ length: sequences }, () => {
    const start = rng.int(tokens.length - length);
    return tokens.slice(start, start + length);
  });
}

/** Running sums of a Linear's inputs: sum x_j, sum x_j^2, and optionally x x^T. */
export class InputStatsAccumulator {
  private tokens = 0;
  private readonly sum: Float64Array;
  private readonly sumSquares: Float64Array;
  private readonly gram: Float64Array | null;

  constructor(readonly cols: number, withGram: boolean) {
    this.sum = new Float64Array(cols);
    this.sumSquares = new Float64Array(cols);
    this.gram = withGram ? new Float64Array(cols * cols) : null;
  }

  /** Adds the rows of x [T, cols]. */
  add(x: Tensor): void {
    const T = x.shape[0];
    const data = x.readSync() as Float32Array;
    const { cols, sum, sumSquares } = this;
    for (let t = 0; t < T; t++) {
      for (let j = 0, o = t * cols; j < cols; j++) {
        const v = data[o + j];
        sum[j] += v;
        sumSquares[j] += v * v;
      }
    }
    if (this.gram) {
      // x^T x through the GEMM kernel (f32 over this chunk), accumulated in f64 across chunks.
      const g = tidy(() => matmul(x, x, { transposeA: true }).readSync() as Float32Array);
      for (let i = 0; i < g.length; i++) this.gram[i] += g[i];
    }
    this.tokens += T;
  }

  result(): LinearInputStats {
    return { tokens: this.tokens, sum: this.sum, sumSquares: this.sumSquares, gram: this.gram };
  }
}

export interface LayerWalkOptions {
  /** Which statistics to gather (gram matrices cost cols^2 memory per Linear group). */
  readonly needs: { readonly norms: boolean; readonly gram: boolean };
  /**
   * Called once per block with its Linears' input statistics by group; returns the block's
   * replacement (pruned) weights, or null to keep it. The next block sees the replacement's outputs.
   */
  onLayer(layer: number, stats: Readonly<Record<LinearInputGroup, LinearInputStats>>): Promise<DecoderLayerWeights | null>;
  /** Called after each block with the number done. */
  onProgress?(done: number, total: number): void;
  /** Sees each block's input and dense output hidden states [tokens, hidden] (CFSP's block importance). */
  onBlock?(layer: number, input: Tensor, output: Tensor): void;
}

/** Walks the model's blocks over the calibration windows (one ragged batch), see the file comment. */
export async function walkLayers(model: DecoderModel, sequences: readonly (readonly number[])[], options: LayerWalkOptions): Promise<void> {
  if (sequences.length === 0) throw new ArgumentError('calibration needs at least one sequence');
  const { hiddenSize, headDim, numLayers } = model.config;
  const caches: KVCache[] = sequences.map((s) => model.createCache(s.length));
  const steps: SequenceStep[] = sequences.map((tokens, i) => ({ tokens, cache: caches[i] }));
  const withGram = options.needs.gram;
  const tables = model.ropeFor(steps);
  let h = model.embed(steps);
  try {
    for (let layer = 0; layer < numLayers; layer++) {
      const { numHeads, intermediateSize } = layerShapeOf(model.config, layer);
      const widths: Record<LinearInputGroup, number> = { qkv: hiddenSize, o: numHeads * headDim, gateUp: hiddenSize, down: intermediateSize };
      const accumulators = Object.fromEntries(
        (Object.keys(widths) as LinearInputGroup[]).map((g) => [g, new InputStatsAccumulator(widths[g], withGram)]),
      ) as Record<LinearInputGroup, InputStatsAccumulator>;
      const dense = model.weights.layers[layer];
      const denseOut = tidy(() => model.block(h, dense, layer, steps, tables, (group, x) => accumulators[group].add(x)));
      options.onBlock?.(layer, h, denseOut);
      const stats = Object.fromEntries(Object.entries(accumulators).map(([g, a]) => [g, a.result()])) as Record<LinearInputGroup, LinearInputStats>;
      const replacement = await options.onLayer(layer, stats);
      const next = replacement ? (denseOut.dispose(), tidy(() => model.block(h, replacement, layer, steps, tables))) : denseOut;
      h.dispose();
      h = next;
      options.onProgress?.(layer + 1, numLayers);
    }
  } finally {
    h.dispose();
    tables.dispose();
    for (const c of caches) c.dispose();
  }
}
