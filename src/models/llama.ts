/**
 * The Llama-family decoder forward pass (Touvron et al. 2023; Qwen2 and Mistral differ only in
 * biases and the attention window): pre-norm blocks of grouped-query attention with rotary
 * positions and a SwiGLU MLP. Every Linear goes through sparse/linear.ts, so a weight stored in
 * a sparse format runs its sparse kernel with no change here.
 *
 * Batches are ragged: the new tokens of all sequences are concatenated into one [T, hidden]
 * activation for every Linear (one large product instead of several), while attention runs per
 * sequence against that sequence's own KV cache. No padding, no masks across sequences.
 */
import type { Backend } from '../core/backend.js';
import { ArgumentError } from '../core/errors.js';
import { add, attention, blockSparseAttention, concat, gather, mul, rmsNorm, rope, silu, slice, tensor } from '../core/ops.js';
import { ropeTables } from '../core/rope.js';
import { keep, type Tensor, tidy } from '../core/tensor.js';
import { linear, linearGroup } from '../sparse/linear.js';
import { type DecoderConfig, layerShapeOf } from './decoder-config.js';
import type { DecoderLayerWeights, DecoderWeights, Projection } from './decoder-weights.js';
import { FullKVCache, type KVCache } from './kv-cache.js';

/** One sequence's part of a forward step: its new tokens and its cache. */
export interface SequenceStep {
  readonly tokens: readonly number[];
  readonly cache: KVCache;
}

export interface ForwardOptions {
  /** Logits for every new token (perplexity) instead of only each sequence's last one (generation). */
  readonly allLogits?: boolean;
  /** Block-sparse attention for prompts (steps of several tokens on an empty cache); dense when absent. */
  readonly prefill?: BlockSparsePrefill;
}

/**
 * Chooses which blocks of a prompt's attention are computed (src/attention/prefill/: MInference's
 * patterns). Defined here as an interface so that models/ does not depend on attention/.
 */
export interface BlockSparsePrefill {
  /** Query rows and key columns per block. */
  readonly blockSize: number;
  /**
   * The mask u8 [heads, ceil(T / blockSize), ceil(T / blockSize)] (1 = compute) of layer `layer`
   * for a prompt's queries [T, heads, headDim] and keys [T, kvHeads, headDim] after RoPE.
   */
  blocks(layer: number, queries: Tensor, keys: Tensor, scale: number): Tensor;
}

export class DecoderModel {
  readonly config: DecoderConfig;
  readonly weights: DecoderWeights;
  readonly backend: Backend;

  constructor(config: DecoderConfig, weights: DecoderWeights) {
    this.config = config;
    this.weights = weights;
    this.backend = weights.embedTokens.backend;
  }

  /** A cache for one sequence of up to `capacity` positions (at most the model's context). */
  createCache(capacity: number): KVCache {
    const { numLayers, headDim, maxPositions } = this.config;
    if (capacity > maxPositions) {
      throw new ArgumentError(`${capacity} positions exceed the model's context of ${maxPositions} (max_position_embeddings)`);
    }
    const kvHeads = Array.from({ length: numLayers }, (_, l) => layerShapeOf(this.config, l).numKvHeads);
    return new FullKVCache({ layers: numLayers, kvHeads, headDim, capacity }, this.backend);
  }

  /**
   * Runs the new tokens of each sequence through the model, appending their keys and values to
   * the sequences' caches, and returns logits [sequences, vocab] for each sequence's last new
   * token ([total new tokens, vocab] with allLogits).
   */
  forward(steps: readonly SequenceStep[], options: ForwardOptions = {}): Tensor {
    const { config, weights } = this;
    const lengths = steps.map((s) => s.tokens.length);
    if (steps.length === 0 || lengths.some((n) => n === 0)) throw new ArgumentError('forward: every sequence needs at least one new token');
    for (const s of steps) {
      for (const id of s.tokens) {
        if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) throw new ArgumentError(`token id ${id} is outside the vocabulary [0, ${config.vocabSize})`);
      }
      if (s.cache.length + s.tokens.length > s.cache.shape.capacity) {
        throw new ArgumentError(`sequence of ${s.cache.length + s.tokens.length} positions exceeds its cache of ${s.cache.shape.capacity}`);
      }
      const window = config.slidingWindow;
      if (options.prefill && s.cache.length === 0 && window !== null && s.tokens.length > window) {
        throw new ArgumentError(`block-sparse prefill does not apply the model's sliding window of ${window} tokens; the prompt has ${s.tokens.length}`);
      }
    }
    const tables = this.ropeFor(steps);
    const logits = tidy(() => {
      let h = this.embed(steps);
      for (let layer = 0; layer < weights.layers.length; layer++) {
        h = tidy(() => this.block(h, weights.layers[layer], layer, steps, tables, undefined, options.prefill));
      }
      return this.logits(options.allLogits ? h : lastRows(h, lengths));
    });
    tables.dispose();
    for (const s of steps) s.cache.commit(s.tokens.length);
    return logits;
  }

  /** Hidden states [total new tokens, hidden] of the steps' tokens: their embeddings. */
  embed(steps: readonly SequenceStep[]): Tensor {
    const ids = Int32Array.from(steps.flatMap((s) => s.tokens));
    return gather(this.weights.embedTokens, tensor(ids, [ids.length], 'i32', this.backend));
  }

  /** Rotary tables for the steps' new tokens (see block()); dispose them after the step. */
  ropeFor(steps: readonly SequenceStep[]): BlockRope {
    return new BlockRope(
      steps.flatMap((s) => s.tokens.map((_, i) => s.cache.length + i)),
      this.config,
      this.backend,
    );
  }

  /**
   * One decoder block over hidden states h [T, hidden] of the steps' new tokens: h +
   * attention(norm(h)), then + mlp(norm(.)). Appends keys and values to the steps' caches at
   * layer `layer` (not committed). `onInput` sees the input of each Linear group as it is formed
   * (calibration statistics for pruning); `weights` may be a replacement for the layer's own.
   * With `prefill`, a prompt (several tokens, empty cache) attends block-sparsely.
   */
  block(h: Tensor, w: DecoderLayerWeights, layer: number, steps: readonly SequenceStep[], tables: BlockRope, onInput?: LinearInputHook, prefill?: BlockSparsePrefill): Tensor {
    const { headDim, rmsNormEps, slidingWindow } = this.config;
    const { numHeads, numKvHeads } = layerShapeOf(this.config, layer);
    const qRope = tables.forHeads(numHeads);
    const kRope = tables.forHeads(numKvHeads);
    const T = h.shape[0];
    const x = rmsNorm(h, w.inputNorm, rmsNormEps);
    onInput?.('qkv', x);
    const [qx, kx, vx] = projectGroup(x, [w.q, w.k, w.v]);
    const q = rope(qx.reshape([T * numHeads, headDim]), qRope.cos, qRope.sin).reshape([T, numHeads, headDim]);
    const k = rope(kx.reshape([T * numKvHeads, headDim]), kRope.cos, kRope.sin).reshape([T, numKvHeads, headDim]);
    const v = vx.reshape([T, numKvHeads, headDim]);
    const scale = 1 / Math.sqrt(headDim);
    const outputs: Tensor[] = [];
    let row = 0;
    for (const { tokens, cache } of steps) {
      const n = tokens.length;
      const one = steps.length === 1;
      const qs = one ? q : slice(q, [row, 0, 0], [row + n, numHeads, headDim]);
      const ks = one ? k : slice(k, [row, 0, 0], [row + n, numKvHeads, headDim]);
      const vs = one ? v : slice(v, [row, 0, 0], [row + n, numKvHeads, headDim]);
      const prompt = prefill !== undefined && n > 1 && cache.length === 0;
      cache.append(layer, ks, vs);
      // A policy cache still sees the prompt (it may compress at prefill); an empty cache has nothing evicted to select.
      const selected = cache.select(layer, cache.length + n - 1, qs);
      if (prompt) {
        const b = prefill.blockSize;
        outputs.push(blockSparseAttention(qs, ks, vs, prefill.blocks(layer, qs, ks, scale), { blockQ: b, blockK: b, scale, causal: true }));
      } else {
        outputs.push(
          attention(qs, cache.keys(layer), cache.values(layer), {
            length: cache.length + n,
            queryStart: cache.length,
            scale,
            positions: selected?.rank === 1 ? selected : undefined,
            positionsPerKvHead: selected?.rank === 2 ? selected : undefined,
            window: slidingWindow,
          }),
        );
      }
      row += n;
    }
    const attended = (outputs.length === 1 ? outputs[0] : concat(outputs, 0)).reshape([T, numHeads * headDim]);
    onInput?.('o', attended);
    const h1 = add(h, project(attended, w.o));
    const y = rmsNorm(h1, w.postAttentionNorm, rmsNormEps);
    onInput?.('gateUp', y);
    // SwiGLU (Shazeer 2020): down(silu(gate(y)) * up(y)).
    const [gate, up] = projectGroup(y, [w.gate, w.up]);
    const act = mul(silu(gate), up);
    onInput?.('down', act);
    return add(h1, project(act, w.down));
  }

  /** Logits [rows, vocab] of final hidden states [rows, hidden]. */
  logits(h: Tensor): Tensor {
    return linear(rmsNorm(h, this.weights.finalNorm, this.config.rmsNormEps), this.weights.lmHead);
  }
}

/**
 * Rotary tables of one step's tokens, each position's row repeated per head (the rope op takes
 * q [T, heads, D] as [T * heads, D]); made once per head count and shared by all blocks.
 */
export class BlockRope {
  private readonly tables = new Map<number, { cos: Tensor; sin: Tensor }>();

  constructor(
    private readonly positions: readonly number[],
    private readonly config: DecoderConfig,
    private readonly backend: Backend,
  ) {}

  forHeads(heads: number): { cos: Tensor; sin: Tensor } {
    let t = this.tables.get(heads);
    if (!t) {
      const made = ropeTables(this.positions, this.config.rope, this.backend, heads);
      t = { cos: keep(made.cos), sin: keep(made.sin) };
      this.tables.set(heads, t);
    }
    return t;
  }

  dispose(): void {
    for (const { cos, sin } of this.tables.values()) {
      cos.dispose();
      sin.dispose();
    }
    this.tables.clear();
  }
}

/** The Linear groups of a block by the input they share: q/k/v, o, gate/up, down. */
export type LinearInputGroup = 'qkv' | 'o' | 'gateUp' | 'down';
export type LinearInputHook = (group: LinearInputGroup, input: Tensor) => void;

function project(x: Tensor, p: Projection): Tensor {
  return linear(x, p.weight, p.bias);
}

/** Projections of one input (q/k/v, gate/up), as one job where the backend can (linearGroup). */
function projectGroup(x: Tensor, ps: readonly Projection[]): Tensor[] {
  return linearGroup(x, ps.map((p) => p.weight), ps.map((p) => p.bias));
}

/** The last row of each sequence's block of rows in h [total, hidden]. */
function lastRows(h: Tensor, lengths: readonly number[]): Tensor {
  if (lengths.length === 1) return lengths[0] === 1 ? h : slice(h, [lengths[0] - 1, 0]);
  const rows: Tensor[] = [];
  let end = 0;
  for (const n of lengths) {
    end += n;
    rows.push(slice(h, [end - 1, 0], [end, h.shape[1]]));
  }
  return concat(rows, 0);
}
