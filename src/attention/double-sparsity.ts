/**
 * Double Sparsity (Yang et al. 2024, "Post-Training Sparse Attention with Double Sparsity"):
 * token sparsity found through channel sparsity. Offline, a calibration picks each KV head's r
 * important key channels (attention logits are dominated by a few outlier channels, which are
 * static across inputs); online, a label cache holds only those r channels of every key, the
 * query's same channels score all tokens cheaply (r/d of the bytes), and the top tokens are
 * attended with full keys and values.
 *
 * Calibration measure (documented choice): channel c of KV head g scores
 * sum over calibration tokens t and the group's query heads h of |q_thc * k_tgc|, the channel's
 * share of the logits' magnitude; the authors' default ranks the channels of the calibrated key
 * projection outputs ("k" mode, |k_c| summed), offered here as measure 'k'. Differences: the
 * authors store labels at 4 bits (f32 here; metadataBytes counts f32) and score per query head
 * (summed over the group here, one selection per KV head). `recent` positions (default 1, the
 * query's own) are always attended and count in the budget. Ties to the earlier token.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import { type DecodeQuery, type KVPolicy, type KVPolicyState, type Selection, selectAll } from './policy.js';
import { range, topKIndices, topKPositions, unionSorted } from './select.js';

/** One layer's calibration sample: queries [tokens, heads, headDim] and keys [tokens, kvHeads, headDim]. */
export interface ChannelCalibrationSample {
  readonly queries: Float32Array;
  readonly keys: Float32Array;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** The important channels of every layer and KV head (ascending channel numbers). */
export interface DoubleSparsityCalibration {
  readonly channels: readonly (readonly Int32Array[])[];
}

/** Picks each KV head's `channels` most important key channels from per-layer samples. */
export function calibrateDoubleSparsity(samples: readonly ChannelCalibrationSample[], channels: number, measure: 'qk' | 'k' = 'qk'): DoubleSparsityCalibration {
  return {
    channels: samples.map((s, layer) => {
      const { queries, keys, heads, kvHeads, headDim } = s;
      if (!Number.isInteger(channels) || channels < 1 || channels > headDim) throw new ArgumentError(`double-sparsity: channels ${channels} must lie in [1, headDim=${headDim}]`);
      const tokens = keys.length / (kvHeads * headDim);
      if (!Number.isInteger(tokens) || queries.length !== tokens * heads * headDim) throw new ArgumentError(`double-sparsity: layer ${layer}'s calibration queries and keys disagree on the token count`);
      const group = heads / kvHeads;
      return Array.from({ length: kvHeads }, (_, g) => {
        const importance = new Float64Array(headDim);
        for (let t = 0; t < tokens; t++) {
          const k = (t * kvHeads + g) * headDim;
          for (let c = 0; c < headDim; c++) {
            if (measure === 'k') importance[c] += Math.abs(keys[k + c]);
            else for (let h = g * group; h < (g + 1) * group; h++) importance[c] += Math.abs(queries[(t * heads + h) * headDim + c] * keys[k + c]);
          }
        }
        return topKIndices(importance, channels);
      });
    }),
  };
}

export interface DoubleSparsityOptions {
  readonly budget: Budget;
  readonly calibration?: DoubleSparsityCalibration;
  readonly recent?: number;
}

export class DoubleSparsityPolicy implements KVPolicy {
  readonly name = 'double-sparsity';
  readonly paper = 'Yang et al. 2024, Post-Training Sparse Attention with Double Sparsity';
  readonly queryAware = true;
  readonly readsKeys = false;
  readonly readsQueries = { prefill: false, decode: true };
  readonly budget: Budget;
  readonly calibration: DoubleSparsityCalibration;
  readonly recent: number;

  constructor(options: DoubleSparsityOptions) {
    if (!options.calibration) {
      throw new ArgumentError('double-sparsity needs an offline channel calibration: run calibrateDoubleSparsity() on calibration queries and keys and pass it as `calibration`');
    }
    this.budget = options.budget;
    this.calibration = options.calibration;
    this.recent = options.recent ?? 1;
    if (!Number.isInteger(this.recent) || this.recent < 1) throw new ArgumentError(`double-sparsity: recent ${this.recent} must be a positive integer (the query's own position)`);
  }

  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, () => resolveBudget(this.budget, contextTokens).budgetTokens);
  }

  createState(shape: KVCacheShape): KVPolicyState {
    const { channels } = this.calibration;
    if (channels.length !== shape.layers || channels.some((heads, l) => heads.length !== shape.kvHeads[l])) {
      throw new ArgumentError(`double-sparsity: the calibration covers ${channels.length} layers of [${channels.map((h) => h.length)}] KV heads, the cache ${shape.layers} of [${shape.kvHeads}]`);
    }
    return new DoubleSparsityState(this, shape);
  }
}

export class DoubleSparsityState implements KVPolicyState {
  /** Label cache per layer: [capacity, kvHeads, r], the calibrated channels of every key. */
  readonly labels: Float32Array[];
  private readonly lengths: number[];

  constructor(
    private readonly policy: DoubleSparsityPolicy,
    private readonly shape: KVCacheShape,
  ) {
    this.labels = shape.kvHeads.map((n, l) => new Float32Array(shape.capacity * n * policy.calibration.channels[l][0].length));
    this.lengths = new Array<number>(shape.layers).fill(0);
  }

  onAppend(layer: number, position: number, key: Float32Array): void {
    const heads = this.policy.calibration.channels[layer];
    const r = heads[0].length;
    const d = this.shape.headDim;
    heads.forEach((channels, g) => {
      for (let i = 0; i < r; i++) this.labels[layer][(position * heads.length + g) * r + i] = key[g * d + channels[i]];
    });
    this.lengths[layer] = Math.max(this.lengths[layer], position + 1);
  }

  onPrefill(): void {}

  select(layer: number, query: DecodeQuery): Selection {
    const { policy } = this;
    const length = query.position + 1;
    const { budgetTokens, fellBackToFull } = resolveBudget(policy.budget, length);
    if (fellBackToFull || budgetTokens <= policy.recent) return selectAll(true);
    if (!query.query) throw new ArgumentError('double-sparsity needs each decode query (label-cache scores); the model passed none to select()');
    const heads = policy.calibration.channels[layer];
    const kvHeads = heads.length;
    const r = heads[0].length;
    const group = query.heads / kvHeads;
    const d = this.shape.headDim;
    const labels = this.labels[layer];
    const older = range(0, length - policy.recent);
    const positions = heads.map((channels, g) => {
      const scores = new Float64Array(length);
      for (let h = g * group; h < (g + 1) * group; h++) {
        for (let t = 0; t < length; t++) {
          let s = 0;
          for (let i = 0; i < r; i++) s += query.query![h * d + channels[i]] * labels[(t * kvHeads + g) * r + i];
          scores[t] += s;
        }
      }
      return unionSorted(topKPositions(scores, older, budgetTokens - policy.recent), range(length - policy.recent, length));
    });
    return { positions, fellBackToFull: false, metadataBytesRead: length * kvHeads * r * 4 };
  }

  kept(): null {
    return null;
  }

  metadataBytes(): number {
    return this.shape.kvHeads.reduce((sum, n, l) => sum + this.lengths[l] * n * this.policy.calibration.channels[l][0].length * 4, 0);
  }

  /** The labels of the positions appended so far and the lengths (the calibration is shared). */
  clone(): DoubleSparsityState {
    const copy = new DoubleSparsityState(this.policy, this.shape);
    this.shape.kvHeads.forEach((n, l) => {
      copy.labels[l].set(this.labels[l].subarray(0, this.lengths[l] * n * this.policy.calibration.channels[l][0].length));
      copy.lengths[l] = this.lengths[l];
    });
    return copy;
  }
}
