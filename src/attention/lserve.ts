/**
 * LServe (Yang et al. 2025, "LServe: Efficient Long-sequence LLM Serving with Unified Sparse
 * Attention"): streaming heads as DuoAttention (sinks + window, heads classified offline by
 * classifyHeads in duo-attention.ts), and retrieval heads that read only query-selected pages.
 * Hierarchical paging: the pages the kernel reads are large (64 positions: efficient to load),
 * but a large page's min/max bound is loose, so each page keeps bounds per sub-page of 16
 * positions and its score is the best of its sub-pages' Quest bounds. The selection is reusable:
 * a layer re-scores only every `reuseSteps` decode steps and otherwise attends the same pages
 * (plus the newest page, which holds the new positions).
 *
 * Differences from the authors' system: page scores of a group's query heads are summed (one
 * selection per KV head); pages are selected to a token budget (budget / pageSize pages, the
 * newest always among them); the paper's retrieval heads may also be dense (`retrievalPages:
 * false` here).
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import { type HeadKinds, requireHeadKinds, streamingSpan } from './duo-attention.js';
import { PageKeyBounds, pagePositions } from './page-bounds.js';
import type { DecodeQuery, KVPolicy, KVPolicyState, Selection } from './policy.js';
import { range, topKPositions, unionSorted } from './select.js';

export interface LServeOptions {
  /** Retrieval heads' page budget in tokens (and streaming heads' span when no sinks/window given). */
  readonly budget: Budget;
  readonly heads?: HeadKinds;
  readonly sinks?: number;
  readonly window?: number;
  /** Positions per selected page (authors: 64) and per bounded sub-page (16). */
  readonly pageSize?: number;
  readonly subPageSize?: number;
  /** Decode steps one page selection serves (authors: 4). */
  readonly reuseSteps?: number;
  /** Retrieval heads select pages (true) or attend densely (false). */
  readonly retrievalPages?: boolean;
}

export class LServePolicy implements KVPolicy {
  readonly name = 'lserve';
  readonly paper = 'Yang et al. 2025, LServe: Efficient Long-sequence LLM Serving with Unified Sparse Attention';
  readonly queryAware = true;
  readonly readsKeys = false;
  readonly readsQueries = { prefill: false, decode: true };
  readonly budget: Budget;
  readonly heads: HeadKinds;
  readonly sinks: number;
  readonly window: number;
  readonly pageSize: number;
  readonly subPageSize: number;
  readonly reuseSteps: number;
  readonly retrievalPages: boolean;

  constructor(options: LServeOptions) {
    this.heads = requireHeadKinds(this.name, options.heads);
    this.budget = options.budget;
    this.sinks = options.sinks ?? 64;
    this.window = options.window ?? 256;
    this.pageSize = options.pageSize ?? 64;
    this.subPageSize = options.subPageSize ?? 16;
    this.reuseSteps = options.reuseSteps ?? 4;
    this.retrievalPages = options.retrievalPages ?? true;
    if (!Number.isInteger(this.subPageSize) || this.subPageSize < 1 || this.pageSize % this.subPageSize !== 0) {
      throw new ArgumentError(`lserve: pageSize ${this.pageSize} must be a multiple of subPageSize ${this.subPageSize}`);
    }
    if (!Number.isInteger(this.reuseSteps) || this.reuseSteps < 1) throw new ArgumentError(`lserve: reuseSteps ${this.reuseSteps} must be a positive integer`);
  }

  /** Retrieval heads read budget / pageSize pages (or the context when dense), streaming heads sinks + window. */
  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    const tokens = resolveBudget(this.budget, contextTokens).budgetTokens;
    const pages = Math.max(1, Math.floor(tokens / this.pageSize)) * this.pageSize;
    return budgetsPerHead(shape.kvHeads, contextTokens, (l, g) => (!this.heads.retrieval[l][g] ? this.sinks + this.window : this.retrievalPages ? pages : contextTokens));
  }

  createState(shape: KVCacheShape): KVPolicyState {
    requireHeadKinds(this.name, this.heads, shape);
    return new LServeState(this, shape, new PageKeyBounds(shape, this.subPageSize));
  }
}

export class LServeState implements KVPolicyState {
  /** Per layer: the pages each retrieval KV head chose, and the steps since they were scored. */
  private readonly chosenPages: (Int32Array[] | null)[];
  private readonly stepsSinceScoring: number[];
  private readonly lengths: number[];
  scorings = 0;
  reuses = 0;

  constructor(
    private readonly policy: LServePolicy,
    private readonly shape: KVCacheShape,
    readonly bounds: PageKeyBounds,
  ) {
    this.chosenPages = new Array(shape.layers).fill(null);
    this.stepsSinceScoring = new Array<number>(shape.layers).fill(0);
    this.lengths = new Array<number>(shape.layers).fill(0);
  }

  onAppend(layer: number, position: number, key: Float32Array): void {
    this.bounds.add(layer, position, key);
    this.lengths[layer] = position + 1;
  }

  onPrefill(): void {}

  /** Page scores per KV head: the best sub-page bound inside each page. */
  pageScores(layer: number, query: Float32Array, heads: number): Float64Array[] {
    const per = this.policy.pageSize / this.policy.subPageSize;
    return this.bounds.scores(layer, query, heads).map((sub) => {
      const pages = new Float64Array(Math.ceil(sub.length / per)).fill(-Infinity);
      sub.forEach((s, i) => (pages[Math.floor(i / per)] = Math.max(pages[Math.floor(i / per)], s)));
      return pages;
    });
  }

  select(layer: number, query: DecodeQuery): Selection {
    const { policy } = this;
    const length = query.position + 1;
    const retrieval = policy.heads.retrieval[layer];
    const { sinks, window } = streamingSpan(null, policy.sinks, policy.window, length);
    const streaming = sinks + window >= length ? range(0, length) : unionSorted(range(0, sinks), range(length - window, length));
    const { budgetTokens, fellBackToFull } = resolveBudget(policy.budget, length);
    const current = Math.floor(query.position / policy.pageSize);
    let bytesRead = 0;
    let chosen = this.chosenPages[layer];
    const dense = !policy.retrievalPages || fellBackToFull;
    if (!dense && retrieval.some(Boolean)) {
      if (!query.query) throw new ArgumentError('lserve needs each decode query (page scores); the model passed none to select()');
      if (!chosen || this.stepsSinceScoring[layer] >= policy.reuseSteps) {
        const topPages = Math.max(0, Math.floor(budgetTokens / policy.pageSize) - 1);
        // The newest page at scoring time stays chosen: it holds the positions just before the next ones.
        chosen = this.pageScores(layer, query.query, query.heads).map((scores) => unionSorted(topKPositions(scores, range(0, current), topPages), [current]));
        this.chosenPages[layer] = chosen;
        this.stepsSinceScoring[layer] = 0;
        this.scorings++;
        bytesRead = this.bounds.pages(layer) * retrieval.filter(Boolean).length * this.shape.headDim * 2 * 4;
      } else {
        this.reuses++;
      }
      this.stepsSinceScoring[layer]++;
    }
    const all = range(0, length);
    const positions = retrieval.map((isRetrieval, g) => {
      if (!isRetrieval) return streaming;
      if (dense) return all;
      return pagePositions(unionSorted(chosen![g], [current]), policy.pageSize, length);
    });
    const everything = positions.every((p) => p.length === length);
    return { positions: everything ? null : positions, fellBackToFull: everything && fellBackToFull, metadataBytesRead: bytesRead };
  }

  kept(layer: number): Int32Array[] | null {
    const length = this.lengths[layer];
    const { sinks, window } = streamingSpan(null, this.policy.sinks, this.policy.window, length);
    if (sinks + window >= length) return null;
    const streaming = unionSorted(range(0, sinks), range(length - window, length));
    return this.policy.heads.retrieval[layer].map((r) => (r ? range(0, length) : streaming));
  }

  metadataBytes(): number {
    return this.bounds.bytes();
  }

  clone(): LServeState {
    const copy = new LServeState(this.policy, this.shape, this.bounds.clone());
    this.chosenPages.forEach((heads, l) => (copy.chosenPages[l] = heads?.map((pages) => pages.slice()) ?? null));
    this.stepsSinceScoring.forEach((n, l) => (copy.stepsSinceScoring[l] = n));
    this.lengths.forEach((n, l) => (copy.lengths[l] = n));
    copy.scorings = this.scorings;
    copy.reuses = this.reuses;
    return copy;
  }
}
