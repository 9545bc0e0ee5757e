/**
 * Quest (Tang et al. 2024, "Quest: Query-Aware Sparsity for Efficient Long-Context LLM
 * Inference"): pages of 16 positions keep per-channel key min/max; at each decode step a page's
 * score is sum_c max(q_c * max_c, q_c * min_c) (an upper bound of q.k inside it) and only the
 * top budget / 16 pages are attended. The first two layers stay dense, as in the paper (their
 * attention is not sparse enough).
 *
 * As the authors' evaluation/quest_attention.py: pages aligned at position 0, the bound computed
 * as |q| . max over the page of (k * sign(q)) (the same sum), layers 0-1 dense. Differences: Quest
 * scores per query head on repeated keys; the op takes one selection per KV head, so a group's
 * query heads sum their page bounds. The authors take the top max(3, budget / 16) pages of all
 * pages; here the page holding the query's own position is always attended (its key must be
 * visible) and the other budget / 16 - 1 pages are the top-scored earlier ones, with no minimum
 * of 3 (the budget decides). Ties go to the earlier page.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import { PageKeyBounds, pagePositions } from './page-bounds.js';
import { type DecodeQuery, type KVPolicy, type KVPolicyState, type Selection, selectAll } from './policy.js';
import { range, topKPositions } from './select.js';

export interface QuestOptions {
  readonly budget: Budget;
  readonly pageSize?: number;
  /** Layers [0, denseLayers) attend densely (the paper: 2). */
  readonly denseLayers?: number;
}

export class QuestPolicy implements KVPolicy {
  readonly name = 'quest';
  readonly paper = 'Tang et al. 2024, Quest: Query-Aware Sparsity for Efficient Long-Context LLM Inference';
  readonly queryAware = true;
  readonly readsKeys = false;
  readonly readsQueries = { prefill: false, decode: true };
  readonly budget: Budget;
  readonly pageSize: number;
  readonly denseLayers: number;

  constructor(options: QuestOptions) {
    this.budget = options.budget;
    this.pageSize = options.pageSize ?? 16;
    this.denseLayers = options.denseLayers ?? 2;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new ArgumentError(`quest: pageSize ${this.pageSize} must be a positive integer`);
    if (!Number.isInteger(this.denseLayers) || this.denseLayers < 0) throw new ArgumentError(`quest: denseLayers ${this.denseLayers} must be a non-negative integer`);
  }

  /** Dense layers read the context; the others budget / pageSize pages (at least the newest). */
  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    const tokens = resolveBudget(this.budget, contextTokens).budgetTokens;
    return budgetsPerHead(shape.kvHeads, contextTokens, (l) => (l < this.denseLayers ? contextTokens : Math.max(1, Math.floor(tokens / this.pageSize)) * this.pageSize));
  }

  createState(shape: KVCacheShape): KVPolicyState {
    return new QuestState(this, new PageKeyBounds(shape, this.pageSize));
  }
}

export class QuestState implements KVPolicyState {
  constructor(
    private readonly policy: QuestPolicy,
    readonly bounds: PageKeyBounds,
  ) {}

  onAppend(layer: number, position: number, key: Float32Array): void {
    this.bounds.add(layer, position, key);
  }

  onPrefill(): void {}

  select(layer: number, query: DecodeQuery): Selection {
    const { policy, bounds } = this;
    if (layer < policy.denseLayers) return selectAll(false);
    const length = query.position + 1;
    const { budgetTokens, fellBackToFull } = resolveBudget(policy.budget, length);
    if (fellBackToFull) return selectAll(true);
    if (!query.query) throw new ArgumentError('quest needs each decode query (page scores are q against page bounds); the model passed none to select()');
    const pageSize = policy.pageSize;
    const pages = bounds.pages(layer);
    const current = Math.floor(query.position / pageSize);
    const topPages = Math.max(0, Math.floor(budgetTokens / pageSize) - 1);
    const scores = bounds.scores(layer, query.query, query.heads);
    const positions = scores.map((byPage) => {
      const chosen = topKPositions(byPage, range(0, current), topPages);
      return pagePositions([...chosen, current], pageSize, length);
    });
    const kvHeads = scores.length;
    return { positions, fellBackToFull: false, metadataBytesRead: pages * kvHeads * bounds.shape.headDim * 2 * 4 };
  }

  kept(): null {
    return null;
  }

  metadataBytes(): number {
    return this.bounds.bytes();
  }

  clone(): QuestState {
    return new QuestState(this.policy, this.bounds.clone());
  }
}
