/**
 * H2O (Zhang et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large
 * Language Models"): every query's attention probabilities are added to the positions it reads
 * (the accumulated score); the cache keeps the recent positions plus the heavy hitters, the
 * positions with the largest accumulated score, and evicts the rest for good. Budget = heavy +
 * recent (the paper's runs split it evenly).
 *
 * As the authors' real-drop code (h2o_hf/utils_real_drop/modify_llama.py, H2OKVCache_LayerWise;
 * parity in test/attention/parity.test.ts): prefill scores are the column sums of the prompt's
 * causal attention (all prompt queries), each decode step adds its row and then evicts down to
 * the budget (the step itself attends to the budget plus the new position): the heavy hitters are
 * the top `budget - recent` scores among all but the last `recent` kept positions, and scores
 * follow the positions they belong to. Ties go to the earlier position.
 * Differences, on purpose: their cache is MHA only (one score per query head, masking a cache of
 * as many heads); here a GQA group's query heads add to one score per KV head. Their heavy and
 * recent sizes are two counts; here recent = round(budget x recentShare), at least 1 (the newest
 * position is always kept). They accumulate in the model's dtype (fp16); here float64.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import type { DecodeQuery, KVPolicy, KVPolicyState, PrefillChunk, Selection } from './policy.js';
import { accumulatedAttention, topKPositions } from './select.js';

export interface H2oOptions {
  readonly budget: Budget;
  /** Share of the budget kept as the recent window (the paper: 0.5). */
  readonly recentShare?: number;
  /** Prompt queries scored at prefill: all (the paper), or only the last N (cheaper on the host). */
  readonly prefillQueries?: number | 'all';
}

export class H2oPolicy implements KVPolicy {
  readonly name = 'h2o';
  readonly paper = 'Zhang et al. 2023, H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models';
  readonly queryAware = false;
  readonly readsKeys = true;
  readonly readsQueries = { prefill: true, decode: true };
  readonly budget: Budget;
  readonly recentShare: number;
  readonly prefillQueries: number | 'all';

  constructor(options: H2oOptions) {
    this.budget = options.budget;
    this.recentShare = options.recentShare ?? 0.5;
    this.prefillQueries = options.prefillQueries ?? 'all';
    if (!(this.recentShare >= 0 && this.recentShare <= 1)) throw new ArgumentError(`h2o: recentShare ${this.recentShare} must lie in [0, 1]`);
  }

  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, () => resolveBudget(this.budget, contextTokens).budgetTokens);
  }

  createState(shape: KVCacheShape): KVPolicyState {
    return new H2oState(this, shape);
  }

  /** Heavy hitters + recent of `kept` (ascending) under `budgetTokens`. */
  evict(kept: readonly number[], scores: Float64Array, budgetTokens: number): number[] {
    if (kept.length <= budgetTokens) return [...kept];
    const recent = Math.max(1, Math.round(budgetTokens * this.recentShare));
    const older = kept.slice(0, kept.length - recent);
    const heavy = topKPositions(scores, older, budgetTokens - recent);
    return [...heavy, ...kept.slice(kept.length - recent)];
  }
}

export class H2oState implements KVPolicyState {
  private readonly keptByLayer: number[][][];
  /** Accumulated attention per layer, KV head and position. */
  readonly scores: Float64Array[][];
  /** A fractional budget is resolved once, against the prompt: evicted positions cannot come back. */
  private frozenBudgetTokens: number | null = null;
  private readonly fellBack: boolean[];

  constructor(
    private readonly policy: H2oPolicy,
    private readonly shape: KVCacheShape,
  ) {
    this.keptByLayer = shape.kvHeads.map((n) => Array.from({ length: n }, () => []));
    this.scores = shape.kvHeads.map((n) => Array.from({ length: n }, () => new Float64Array(shape.capacity)));
    this.fellBack = new Array<boolean>(shape.layers).fill(false);
  }

  onAppend(layer: number, position: number): void {
    for (const list of this.keptByLayer[layer]) list.push(position);
  }

  onPrefill(layer: number, chunk: PrefillChunk): void {
    if (!chunk.queries) throw new ArgumentError('h2o needs the prompt queries at prefill (accumulated attention); the model passed none to select()');
    const length = chunk.start + chunk.count;
    const first = this.policy.prefillQueries === 'all' ? 0 : Math.max(0, chunk.count - this.policy.prefillQueries);
    this.accumulate(layer, chunk.keys, chunk.queries, chunk.heads, [first, chunk.count], chunk.start);
    this.frozenBudgetTokens ??= resolveBudget(this.policy.budget, length).budgetTokens;
    this.evictLayer(layer, length);
  }

  select(layer: number, query: DecodeQuery): Selection {
    if (!query.query) throw new ArgumentError('h2o needs each decode query (to accumulate attention); the model passed none to select()');
    const length = query.position + 1;
    const kept = this.keptByLayer[layer];
    const fellBackToFull = this.budgetAt(length) >= length;
    const positions = kept[0].length === length ? null : kept.map((l) => Int32Array.from(l));
    this.accumulate(layer, query.keys, query.query, query.heads, [0, 1], query.position, query.logits?.());
    this.evictLayer(layer, length);
    // Reading the kept keys to score them is what the attention reads anyway: no extra metadata.
    return { positions, fellBackToFull, metadataBytesRead: 0 };
  }

  kept(layer: number): Int32Array[] | null {
    return this.fellBack[layer] ? null : this.keptByLayer[layer].map((l) => Int32Array.from(l));
  }

  metadataBytes(): number {
    // One f32 score per kept position and KV head, as the authors keep it.
    return this.keptByLayer.reduce((sum, heads) => sum + heads.reduce((s, l) => s + l.length * 4, 0), 0);
  }

  clone(): H2oState {
    const copy = new H2oState(this.policy, this.shape);
    this.keptByLayer.forEach((heads, l) => heads.forEach((list, g) => (copy.keptByLayer[l][g] = [...list])));
    this.scores.forEach((heads, l) => heads.forEach((scores, g) => copy.scores[l][g].set(scores)));
    this.fellBack.forEach((f, l) => (copy.fellBack[l] = f));
    copy.frozenBudgetTokens = this.frozenBudgetTokens;
    return copy;
  }

  private accumulate(layer: number, keys: DecodeQuery['keys'], queries: Float32Array, heads: number, rows: readonly [number, number], queryStart: number, decodeLogits?: Float32Array): void {
    const visible = this.keptByLayer[layer].map((l) => Int32Array.from(l));
    const added = accumulatedAttention(keys, queries, heads, rows, queryStart, visible, decodeLogits);
    added.forEach((row, g) => {
      const into = this.scores[layer][g];
      for (const p of visible[g]) into[p] += row[p];
    });
  }

  private budgetAt(length: number): number {
    return this.frozenBudgetTokens ?? resolveBudget(this.policy.budget, length).budgetTokens;
  }

  private evictLayer(layer: number, length: number): void {
    const budget = this.budgetAt(length);
    this.fellBack[layer] = budget >= length;
    const heads = this.keptByLayer[layer];
    for (let g = 0; g < heads.length; g++) heads[g] = this.policy.evict(heads[g], this.scores[layer][g], budget);
  }
}
