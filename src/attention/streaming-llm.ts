/**
 * StreamingLLM (Xiao et al. 2023, "Efficient Streaming Language Models with Attention Sinks"):
 * keep the first `sinks` positions (attention sinks) and the most recent ones; everything between
 * is evicted as it leaves the window. Budget = sinks + window.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import type { KVPolicy, KVPolicyState, PrefillChunk, Selection } from './policy.js';
import { range, unionSorted } from './select.js';

export interface StreamingLlmOptions {
  readonly budget: Budget;
  /** Attention-sink positions kept from the start (the paper uses 4). */
  readonly sinks?: number;
}

export class StreamingLlmPolicy implements KVPolicy {
  readonly name = 'streaming-llm';
  readonly paper = 'Xiao et al. 2023, Efficient Streaming Language Models with Attention Sinks';
  readonly queryAware = false;
  readonly readsKeys = false;
  readonly readsQueries = { prefill: false, decode: false };
  readonly budget: Budget;
  readonly sinks: number;

  constructor(options: StreamingLlmOptions) {
    this.budget = options.budget;
    this.sinks = options.sinks ?? 4;
    if (!Number.isInteger(this.sinks) || this.sinks < 0) throw new ArgumentError(`streaming-llm: sinks ${this.sinks} must be a non-negative integer`);
    if (this.budget.unit === 'tokens' && this.budget.tokens <= this.sinks) {
      throw new ArgumentError(`streaming-llm: a budget of ${this.budget.tokens} tokens leaves no recent window after ${this.sinks} sinks`);
    }
  }

  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, () => resolveBudget(this.budget, contextTokens).budgetTokens);
  }

  createState(shape: KVCacheShape): KVPolicyState {
    return new StreamingLlmState(this, shape.layers);
  }

  /** Sinks + window of a context of `length` positions under `budgetTokens` (null: all fit). */
  keptAt(length: number, budgetTokens: number): Int32Array | null {
    if (budgetTokens >= length) return null;
    const sinks = Math.min(this.sinks, budgetTokens - 1);
    return unionSorted(range(0, sinks), range(length - (budgetTokens - sinks), length));
  }
}

/**
 * The window slides with the length, so the state is the length each layer has seen and the
 * budget in tokens: a fraction is resolved once, against the first prompt chunk, because evicted
 * positions cannot return when the context grows.
 */
class StreamingLlmState implements KVPolicyState {
  private readonly lengths: number[];
  private frozenBudgetTokens: number | null = null;
  constructor(
    private readonly policy: StreamingLlmPolicy,
    layers: number,
  ) {
    this.lengths = new Array<number>(layers).fill(0);
  }
  private budgetAt(length: number): number {
    return this.frozenBudgetTokens ?? resolveBudget(this.policy.budget, length).budgetTokens;
  }
  onAppend(layer: number, position: number): void {
    this.lengths[layer] = position + 1;
  }
  onPrefill(layer: number, chunk: PrefillChunk): void {
    if (this.frozenBudgetTokens === null && this.policy.budget.unit === 'fraction') {
      this.frozenBudgetTokens = resolveBudget(this.policy.budget, chunk.start + chunk.count).budgetTokens;
    }
  }
  select(layer: number): Selection {
    const length = this.lengths[layer];
    const positions = this.policy.keptAt(length, this.budgetAt(length));
    return { positions, fellBackToFull: positions === null, metadataBytesRead: 0 };
  }
  kept(layer: number): Int32Array | null {
    const length = this.lengths[layer];
    return this.policy.keptAt(length, this.budgetAt(length));
  }
  metadataBytes(): number {
    return 0;
  }
  clone(): StreamingLlmState {
    const copy = new StreamingLlmState(this.policy, this.lengths.length);
    this.lengths.forEach((n, l) => (copy.lengths[l] = n));
    copy.frozenBudgetTokens = this.frozenBudgetTokens;
    return copy;
  }
}
