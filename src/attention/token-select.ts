/**
 * TokenSelect (Wu et al. 2024, "TokenSelect: Efficient Long-Context Inference and Length
 * Extrapolation for LLMs via Dynamic Token-Level KV Cache Selection"): each query head scores
 * every candidate token by q.k, turns its scores into a softmax (so no single head dominates),
 * and the heads' distributions are summed (soft voting); the top-k tokens are attended beside
 * `sinks` initial and `recent` local positions. A selection cache skips the vote while
 * consecutive queries are alike: when the cosine similarity of the query (all heads concatenated)
 * to the query of the last vote is >= threshold, the last vote's tokens are reused.
 *
 * As the authors' patcher/token_retrieval.py (TokenRetriever; parity in
 * test/attention/parity.test.ts): logits without the 1/sqrt(d) scale, candidates are
 * [sinks, length - recent), one selection for all heads (head-agnostic), the cache compares with
 * the query that last voted (threshold 0.9), no selection when sinks + k + recent >= length, and
 * the optional pooling is torch's max_pool1d(kernel, stride 1, padding (kernel - 1) / 2 floored)
 * over the candidates: for an even kernel (their per-task values are mostly even: 6, 12, 32) the
 * window reaches one token further right than left and the last candidate gets no pooled score.
 * Differences, on purpose:
 * - their kernel pairs query head h with KV head h % kvHeads; here h / (heads / kvHeads), the
 *   model's grouping (under GQA the two pick different tokens);
 * - they keep logits and votes in bfloat16 (8 significant bits: a long prompt's votes tie often);
 *   here float64;
 * - they score the query rotated at position `recent` against un-rotated keys (their attention
 *   re-applies RoPE over the selected list: the paper's length extrapolation); here the model's
 *   post-RoPE query and keys, as its attention reads them;
 * - their release also selects during prefill (chunks of 512 queries voting with their mean) and
 *   ships with the selection cache off; here prefill is dense (sparse prefill is
 *   src/attention/prefill/'s) and the cache is on, as the paper describes it.
 * Budget = sinks + k + recent. Ties to the earlier token. A fraction budget that resolves below
 * sinks + recent keeps its size: up to half of it as sinks, the rest the most recent tokens, no
 * vote.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import { type DecodeQuery, type KVPolicy, type KVPolicyState, type Selection, selectAll } from './policy.js';
import { dot, range, softmaxInPlace, topKPositions, unionSorted } from './select.js';

export interface TokenSelectOptions {
  readonly budget: Budget;
  /** Initial positions always attended (authors: 128). */
  readonly sinks?: number;
  /** Most recent positions always attended (authors: 512). */
  readonly recent?: number;
  /** Selection-cache threshold on the cosine similarity of consecutive queries (authors: 0.9). */
  readonly similarityThreshold?: number;
  /** Optional max-pooling of the voted scores along tokens (authors' KERNEL_SIZE; 0 or 1 = off). */
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
  // The backend's q.k for every key when it has the kernel (the host loop below was most of a
  // decode step: 2.1 ms per layer at 4K positions, 4 heads of 64).
  const all = query.logits?.();
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    if (all) for (let i = 0; i < candidates.length; i++) logits[i] = all[h * keys.length + candidates[i]];
    else for (let i = 0; i < candidates.length; i++) logits[i] = dot(q, h * headDim, data, (candidates[i] * kvHeads + g) * headDim, headDim);
    softmaxInPlace(logits);
    for (let i = 0; i < candidates.length; i++) votes[candidates[i]] += logits[i];
  }
  return votes;
}

/**
 * The authors' pooling of the candidates' votes: torch max_pool1d(kernel, stride 1, padding
 * floor((kernel - 1) / 2)), -inf padding. Out[i] is the largest vote in [i - padding,
 * i - padding + kernel); an even kernel gives one value fewer than there are votes.
 */
export function poolVotes(votes: ArrayLike<number>, kernel: number): Float64Array {
  const padding = Math.floor((kernel - 1) / 2);
  const out = new Float64Array(votes.length + 2 * padding - kernel + 1);
  for (let i = 0; i < out.length; i++) {
    let best = -Infinity;
    for (let j = Math.max(0, i - padding); j < Math.min(votes.length, i - padding + kernel); j++) if (votes[j] > best) best = votes[j];
    out[i] = best;
  }
  return out;
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
      const votes = softVotes(query, candidates);
      let eligible = candidates;
      if (policy.kernel > 1) {
        const pooled = poolVotes(votes.subarray(policy.sinks, length - policy.recent), policy.kernel);
        votes.set(pooled, policy.sinks);
        eligible = candidates.subarray(0, pooled.length);
      }
      tokens = topKPositions(votes, eligible, k);
      this.votedQuery[layer] = Float32Array.from(query.query);
      this.votedTokens[layer] = tokens;
      this.votes++;
      // The vote reads every candidate's key once per KV head.
      bytesRead = candidates.length * query.keys.kvHeads * query.keys.headDim * 4;
    }
    // Reused tokens lie before the recent window, which only moves forward; positions that left the
    // window since the last vote wait for the next vote, as in the authors' cache.
    const positions = unionSorted(range(0, policy.sinks), tokens, range(length - policy.recent, length));
    return { positions, fellBackToFull: false, metadataBytesRead: bytesRead };
  }

  kept(): null {
    return null;
  }

  metadataBytes(): number {
    return this.votedQuery.reduce((s, q) => s + (q ? q.length * 4 : 0), 0) + this.votedTokens.reduce((s, t) => s + (t ? t.length * 4 : 0), 0);
  }

  /** The selection cache (each layer's last voting query and its tokens) and the counters. */
  clone(): TokenSelectState {
    const copy = new TokenSelectState(this.policy, this.votedQuery.length);
    this.votedQuery.forEach((q, l) => (copy.votedQuery[l] = q?.slice() ?? null));
    this.votedTokens.forEach((t, l) => (copy.votedTokens[l] = t?.slice() ?? null));
    copy.votes = this.votes;
    copy.reuses = this.reuses;
    return copy;
  }
}
