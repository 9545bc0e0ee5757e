/**
 * SnapKV (Li et al. 2024, "SnapKV: LLM Knows What You are Looking for Before Generation"): at
 * prefill, the last `window` prompt queries (the observation window, where the question sits)
 * vote for earlier positions: softmax(q k^T / sqrt(d)) summed over the window's queries, pooled
 * along positions (avg, kernel 5) so neighbours of a hit survive with it, and the top
 * (budget - window) positions per KV head are kept beside the window itself. Decode appends
 * without further eviction.
 *
 * Matches the authors' snapkv_utils / KVCache-Factory update_kv: causal mask inside the window,
 * avg_pool1d with zero padding counted (count_include_pad), the window always kept. Differences:
 * the authors score per query head on repeated keys (one selection per query head); the attention
 * op takes one selection per KV head, so the scores of a group's query heads are summed (kvpress
 * averages them: the same order). torch.topk leaves tie order unspecified; here ties go to the
 * earlier position. A later multi-token chunk (a new turn) re-runs the vote over what is kept.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import type { KVPolicy, KVPolicyState, PrefillChunk, Selection } from './policy.js';
import { accumulatedAttention, avgPool1d, maxPool1d, range, topKPositions } from './select.js';

export interface SnapKvOptions {
  readonly budget: Budget;
  /** Observation window: the last prompt queries that vote, also always kept (authors: 32 or 64). */
  readonly window?: number;
  /** Pooling kernel along positions (the paper's 5; 1 turns pooling off). */
  readonly kernel?: number;
  readonly pooling?: 'avg' | 'max';
}

export class SnapKvPolicy implements KVPolicy {
  readonly name: string = 'snapkv';
  readonly paper: string = 'Li et al. 2024, SnapKV: LLM Knows What You are Looking for Before Generation';
  readonly queryAware = false;
  readonly readsKeys = true;
  readonly readsQueries = { prefill: true, decode: false };
  readonly budget: Budget;
  readonly window: number;
  readonly kernel: number;
  readonly pooling: 'avg' | 'max';

  constructor(options: SnapKvOptions) {
    this.budget = options.budget;
    this.window = options.window ?? 32;
    this.kernel = options.kernel ?? 5;
    this.pooling = options.pooling ?? 'avg';
    if (!Number.isInteger(this.window) || this.window < 1) throw new ArgumentError(`${this.name}: window ${this.window} must be a positive integer`);
    if (!Number.isInteger(this.kernel) || this.kernel < 1 || this.kernel % 2 === 0) throw new ArgumentError(`${this.name}: kernel ${this.kernel} must be a positive odd integer`);
    if (this.budget.unit === 'tokens' && this.budget.tokens <= this.window) {
      throw new ArgumentError(`${this.name}: a budget of ${this.budget.tokens} tokens must exceed the observation window of ${this.window}`);
    }
  }

  /** Tokens layer `layer` keeps at a context of `contextTokens` (PyramidKV overrides). */
  layerBudgetTokens(_layer: number, _layers: number, contextTokens: number): number {
    return resolveBudget(this.budget, contextTokens).budgetTokens;
  }

  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, (l) => this.layerBudgetTokens(l, shape.layers, contextTokens));
  }

  createState(shape: KVCacheShape): KVPolicyState {
    return new SnapKvState(this, shape);
  }

  /** Pooled window votes of the candidates (in kept order, as the compressed cache lies). */
  pooledScores(votes: Float64Array, candidates: Int32Array): Float64Array {
    const seq = Float64Array.from(candidates, (p) => votes[p]);
    const pooled = this.kernel === 1 ? seq : this.pooling === 'avg' ? avgPool1d(seq, this.kernel) : maxPool1d(seq, this.kernel);
    const byPosition = new Float64Array(votes.length);
    candidates.forEach((p, i) => (byPosition[p] = pooled[i]));
    return byPosition;
  }
}

/** Per layer: the kept positions of each KV head (null until the first eviction: all kept). */
export class SnapKvState implements KVPolicyState {
  private readonly keptByLayer: (number[][] | null)[];
  private readonly fellBack: boolean[];
  /** Tokens each layer was allowed at its last compression (for reports and tests). */
  readonly budgetTokensByLayer: number[];

  constructor(
    private readonly policy: SnapKvPolicy,
    private readonly shape: KVCacheShape,
  ) {
    this.keptByLayer = new Array(shape.layers).fill(null);
    this.fellBack = new Array<boolean>(shape.layers).fill(false);
    this.budgetTokensByLayer = new Array<number>(shape.layers).fill(0);
  }

  onAppend(layer: number, position: number): void {
    for (const list of this.keptByLayer[layer] ?? []) list.push(position);
  }

  onPrefill(layer: number, chunk: PrefillChunk): void {
    const { policy } = this;
    const length = chunk.start + chunk.count;
    const kvHeads = this.shape.kvHeads[layer];
    const visible = this.keptOf(layer, length);
    const keptCount = visible[0].length;
    const budget = policy.layerBudgetTokens(layer, this.shape.layers, length);
    this.budgetTokensByLayer[layer] = budget;
    this.fellBack[layer] = budget >= length;
    if (budget >= keptCount) return;
    if (!chunk.queries) throw new ArgumentError(`${policy.name} needs the prompt's queries at prefill (the observation window); the model passed none to select()`);
    const window = Math.min(policy.window, chunk.count, budget);
    const windowStart = length - window;
    const votes = accumulatedAttention(chunk.keys, chunk.queries, chunk.heads, [chunk.count - window, chunk.count], chunk.start, visible);
    const kept: number[][] = [];
    for (let g = 0; g < kvHeads; g++) {
      const candidates = visible[g].filter((p) => p < windowStart);
      const top = topKPositions(policy.pooledScores(votes[g], candidates), candidates, budget - window);
      kept.push([...top, ...visible[g].filter((p) => p >= windowStart)]);
    }
    this.keptByLayer[layer] = kept;
  }

  select(layer: number): Selection {
    const kept = this.keptByLayer[layer];
    return { positions: kept ? kept.map((l) => Int32Array.from(l)) : null, fellBackToFull: this.fellBack[layer] && !kept, metadataBytesRead: 0 };
  }

  kept(layer: number): Int32Array[] | null {
    return this.keptByLayer[layer]?.map((l) => Int32Array.from(l)) ?? null;
  }

  private keptOf(layer: number, length: number): Int32Array[] {
    const kept = this.keptByLayer[layer];
    if (kept) return kept.map((l) => Int32Array.from(l));
    const all = range(0, length);
    return Array.from({ length: this.shape.kvHeads[layer] }, () => all);
  }

  metadataBytes(): number {
    return 0;
  }

  clone(): SnapKvState {
    const copy = new SnapKvState(this.policy, this.shape);
    this.keptByLayer.forEach((heads, l) => (copy.keptByLayer[l] = heads?.map((list) => [...list]) ?? null));
    this.fellBack.forEach((f, l) => (copy.fellBack[l] = f));
    this.budgetTokensByLayer.forEach((n, l) => (copy.budgetTokensByLayer[l] = n));
    return copy;
  }
}
