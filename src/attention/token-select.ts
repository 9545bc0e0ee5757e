/**
 * TokenSelect (Wu et al. 2024, "TokenSelect: Efficient Long-Context Inference and Length
 * Extrapolation for LLMs via Dynamic Token-Level KV Cache Selection"): each query head scores
 * every candidate token by q.k, turns its scores into a softmax (so no single head dominates),
 * and the heads' distributions are summed (soft voting); the top-k tokens are attended beside
 * `sinks` initial and `recent` local positions. A selection cache skips the vote while
 * consecutive queries are alike: when the cosine similarity of the query (all heads concatenated)
 * to the query of the last vote is >= threshold, the last vote's tokens are reused.
 *
 * As the authors' patcher/token_retrieval.py: logits without the 1/sqrt(d) scale, candidates are
 * [sinks, length - recent), one selection for all heads (head-agnostic), the cache compares with
 * the query that last voted (threshold 0.9), and no selection when sinks + k + recent >= length.
 * Differences: the authors' kernel maps query head h to KV head h % kvHeads; here h /
 * (heads / kvHeads), the model's grouping. Budget = sinks + k + recent. Ties to the earlier token.
 * A fraction budget that resolves below sinks + recent keeps its size: up to half of it as sinks,
 * the rest the most recent tokens, no vote.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import { type DecodeQuery, type KVPolicy, type KVPolicyState, type Selection, selectAll } from './policy.js';
import { dot, maxPool1d, range, softmaxInPlace, topKPositions, unionSorted } from './select.js';

export interface TokenSelectOptions {
  readonly budget: Budget;
  /** Initial positions always attended (authors: 128). */
  readonly sinks?: number;
  /** Most recent positions always attended (authors: 512). */
  readonly recent?: number;
  /** Selection-cache threshold on the cosine similarity of consecutive queries (authors: 0.9). */
  readonly similarityThreshold?: number;
  /** Optional max-pooling of the voted scores along tokens (authors' KERNEL_SIZE; 0 = off). */
  readonly kernel?: number;
}

export class TokenSelectPolicy implements KVPolicy {
  readonly name = 'token-select';
  readonly paper = 'Wu et al. 2024, TokenSelect: Efficient Long-Context Inference and Length Extrapolation for LLMs via Dynamic Token-Level KV Cache Selection';
  readonly queryAware = true;
  readonly readsKeys = true;
  readonly readsQueries = { prefill: false, decode: true };
  readonly budget: Budget;
  readonly sinks: number;
  readonly recent: number;
  readonly similarityThreshold: number;
  readonly kernel: number;

  constructor(options: TokenSelectOptions) {
    this.budget = options.budget;
    this.sinks = options.sinks ?? 128;
    this.recent = options.recent ?? 512;
    this.similarityThreshold = options.similarityThreshold ?? 0.9;
    this.kernel = options.kernel ?? 0;
    for (const [name, v] of [['sinks', this.sinks], ['recent', this.recent], ['kernel', this.kernel]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`token-select: ${name} ${v} must be a non-negative integer`);
    }
    if (this.budget.unit === 'tokens' && this.budget.tokens <= this.sinks + this.recent) {
      throw new ArgumentError(`token-select: a budget of ${this.budget.tokens} tokens leaves no top-k after ${this.sinks} sinks and ${this.recent} recent`);
    }
  }

  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, () => resolveBudget(this.budget, contextTokens).budgetTokens);
  }

  createState(shape: KVCacheShape): KVPolicyState {
    return new TokenSelectState(this, shape.layers);
  }
}

/** Soft voting: per head softmax of q.k over the candidates, summed over heads; out[position]. */
export function softVotes(query: DecodeQuery, candidates: Int32Array): Float64Array {
  const { keys, heads } = query;
  const q = query.query!;
  const { kvHeads, headDim, data } = keys;
  const group = heads / kvHeads;
  const votes = new Float64Array(keys.length);
  const logits = new Float64Array(candidates.length);
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < candidates.length; i++) logits[i] = dot(q, h * headDim, data, (candidates[i] * kvHeads + g) * headDim, headDim);
    softmaxInPlace(logits);
    for (let i = 0; i < candidates.length; i++) votes[candidates[i]] += logits[i];
  }
  return votes;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

export class TokenSelectState implements KVPolicyState {
  /** The query of each layer's last vote and the tokens it chose (the selection cache). */
  private readonly votedQuery: (Float32Array | null)[];
  private readonly votedTokens: (Int32Array | null)[];
  /** Decode steps that voted and that reused the cache (the authors' retrieval and skip counts). */
  votes = 0;
  reuses = 0;

  constructor(
    private readonly policy: TokenSelectPolicy,
    layers: number,
  ) {
    this.votedQuery = new Array(layers).fill(null);
    this.votedTokens = new Array(layers).fill(null);
  }

  onAppend(): void {}
  onPrefill(): void {}

  select(layer: number, query: DecodeQuery): Selection {
    const { policy } = this;
    const length = query.position + 1;
    const { budgetTokens, fellBackToFull } = resolveBudget(policy.budget, length);
    const k = budgetTokens - policy.sinks - policy.recent;
    if (fellBackToFull || budgetTokens >= length) return selectAll(true);
    if (k <= 0) {
      // A budget (a fraction of a short context) below sinks + recent: keep the budget, as sinks
      // and the most recent tokens cut to fit, rather than attending to everything.
      const sinks = Math.min(policy.sinks, Math.floor(budgetTokens / 2));
      return { positions: unionSorted(range(0, sinks), range(length - (budgetTokens - sinks), length)), fellBackToFull: false, metadataBytesRead: 0 };
    }
    if (!query.query) throw new ArgumentError('token-select needs each decode query (soft voting over q.k); the model passed none to select()');
    const previous = this.votedQuery[layer];
    let tokens = this.votedTokens[layer];
    let bytesRead = 0;
    if (previous && tokens && cosine(previous, query.query) >= policy.similarityThreshold) {
      this.reuses++;
    } else {
      const candidates = range(policy.sinks, length - policy.recent);
      let votes = softVotes(query, candidates);
      if (policy.kernel > 1) votes = maxPool1d(votes, policy.kernel);
      tokens = topKPositions(votes, candidates, k);
      this.votedQuery[layer] = Float32Array.from(query.query);
      this.votedTokens[layer] = tokens;
      this.votes++;
      // The vote reads every candidate's key once per KV head.
      bytesRead = candidates.length * query.keys.kvHeads * query.keys.headDim * 4;
    }
    // Reused tokens stay below the new recent window's start or fall into it; the union dedups.
    const positions = unionSorted(range(0, policy.sinks), tokens, range(length - policy.recent, length));
    return { positions, fellBackToFull: false, metadataBytesRead: bytesRead };
  }

  kept(): null {
    return null;
  }

  metadataBytes(): number {
    return this.votedQuery.reduce((s, q) => s + (q ? q.length * 4 : 0), 0) + this.votedTokens.reduce((s, t) => s + (t ? t.length * 4 : 0), 0);
  }
}
