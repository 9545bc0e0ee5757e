/**
 * ZipVL (He et al. 2024, "ZipVL: Efficient Large Vision-Language Models with Dynamic Token
 * Sparsification"): the number of important tokens is not fixed but set per layer by the
 * attention distribution: the smallest set of positions that holds a share tau of the attention
 * mass. Scores come from probe queries at prefill (here the prompt's last `window` queries);
 * the layer-wide count k comes from the mass summed over all heads, and each KV head keeps its own
 * top-k. The other positions are either dropped (`rest: 'drop'`, a dynamic-budget eviction) or
 * would be stored at 8 bits (`rest: 'int8'`): storage is not wired, so that mode attends to
 * everything and reports int8BytesSaved, the bytes 8-bit storage of the rest would save.
 *
 * Differences from the authors': they probe with the last 64 and 64 random queries and quantize
 * the rest to 2 bits in a mixed-precision cache; here the last window only, 8-bit, and the
 * window's own positions are always kept. An optional budget caps k.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import type { KVPolicy, KVPolicyState, PrefillChunk, Selection } from './policy.js';
import { accumulatedAttention, range, topKPositions } from './select.js';

export interface ZipVlOptions {
  /** Share of the attention mass the kept set must hold (authors: 0.96-0.975). */
  readonly attentionShare?: number;
  readonly window?: number;
  readonly rest?: 'drop' | 'int8';
  /** Optional cap on the kept tokens per KV head. */
  readonly budget?: Budget | null;
}

/** The smallest k whose k largest masses reach `share` of the total (ties do not matter: only k). */
export function tokensCoveringShare(mass: ArrayLike<number>, candidates: ArrayLike<number>, share: number): number {
  const values = Array.from(candidates, (p) => mass[p]).sort((a, b) => b - a);
  const total = values.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (let k = 0; k < values.length; k++) {
    sum += values[k];
    if (sum >= share * total) return k + 1;
  }
  return values.length;
}

export class ZipVlPolicy implements KVPolicy {
  readonly name = 'zipvl';
  readonly paper = 'He et al. 2024, ZipVL: Efficient Large Vision-Language Models with Dynamic Token Sparsification and KV Cache Compression';
  readonly queryAware = false;
  readonly readsKeys = true;
  readonly readsQueries = { prefill: true, decode: false };
  readonly budget: Budget | null;
  readonly attentionShare: number;
  readonly window: number;
  readonly rest: 'drop' | 'int8';

  constructor(options: ZipVlOptions = {}) {
    this.attentionShare = options.attentionShare ?? 0.95;
    this.window = options.window ?? 32;
    this.rest = options.rest ?? 'drop';
    this.budget = options.budget ?? null;
    if (!(this.attentionShare > 0 && this.attentionShare <= 1)) throw new ArgumentError(`zipvl: attentionShare ${this.attentionShare} must lie in (0, 1]`);
    if (!Number.isInteger(this.window) || this.window < 1) throw new ArgumentError(`zipvl: window ${this.window} must be a positive integer`);
  }

  /** The kept set is sized at prefill from the attention; before that only the cap is known. */
  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, () => (this.budget ? resolveBudget(this.budget, contextTokens).budgetTokens : contextTokens));
  }

  createState(shape: KVCacheShape): KVPolicyState {
    return new ZipVlState(this, shape);
  }
}

export class ZipVlState implements KVPolicyState {
  private readonly keptByLayer: (number[][] | null)[];
  /** Per layer: the important tokens per KV head chosen at the last prefill, and the candidates. */
  readonly importantTokensByLayer: number[];
  readonly candidateTokensByLayer: number[];
  private readonly restByLayer: number[];

  constructor(
    private readonly policy: ZipVlPolicy,
    private readonly shape: KVCacheShape,
  ) {
    this.keptByLayer = new Array(shape.layers).fill(null);
    this.importantTokensByLayer = new Array<number>(shape.layers).fill(0);
    this.candidateTokensByLayer = new Array<number>(shape.layers).fill(0);
    this.restByLayer = new Array<number>(shape.layers).fill(0);
  }

  onAppend(layer: number, position: number): void {
    for (const list of this.keptByLayer[layer] ?? []) list.push(position);
  }

  onPrefill(layer: number, chunk: PrefillChunk): void {
    if (!chunk.queries) throw new ArgumentError("zipvl needs the prompt's queries at prefill (probe attention); the model passed none to select()");
    const length = chunk.start + chunk.count;
    const kept = this.keptByLayer[layer];
    const visible = kept ? kept.map((l) => Int32Array.from(l)) : Array.from({ length: this.shape.kvHeads[layer] }, () => range(0, length));
    const window = Math.min(this.policy.window, chunk.count);
    const windowStart = length - window;
    const votes = accumulatedAttention(chunk.keys, chunk.queries, chunk.heads, [chunk.count - window, chunk.count], chunk.start, visible);
    const layerMass = new Float64Array(length);
    for (const v of votes) for (let p = 0; p < length; p++) layerMass[p] += v[p];
    const candidates = visible[0].filter((p) => p < windowStart);
    let k = tokensCoveringShare(layerMass, candidates, this.policy.attentionShare);
    if (this.policy.budget) k = Math.min(k, Math.max(0, resolveBudget(this.policy.budget, length).budgetTokens - window));
    this.importantTokensByLayer[layer] = k;
    this.candidateTokensByLayer[layer] = candidates.length;
    this.restByLayer[layer] = candidates.length - k;
    if (this.policy.rest === 'int8' || k >= candidates.length) return;
    this.keptByLayer[layer] = visible.map((list, g) => {
      const own = list.filter((p) => p < windowStart);
      return [...topKPositions(votes[g], own, k), ...list.filter((p) => p >= windowStart)];
    });
  }

  select(layer: number): Selection {
    const kept = this.keptByLayer[layer];
    return { positions: kept ? kept.map((l) => Int32Array.from(l)) : null, fellBackToFull: !kept && this.restByLayer[layer] === 0, metadataBytesRead: 0 };
  }

  kept(layer: number): Int32Array[] | null {
    return this.keptByLayer[layer]?.map((l) => Int32Array.from(l)) ?? null;
  }

  metadataBytes(): number {
    return 0;
  }

  clone(): ZipVlState {
    const copy = new ZipVlState(this.policy, this.shape);
    this.keptByLayer.forEach((heads, l) => (copy.keptByLayer[l] = heads?.map((list) => [...list]) ?? null));
    this.importantTokensByLayer.forEach((n, l) => (copy.importantTokensByLayer[l] = n));
    this.candidateTokensByLayer.forEach((n, l) => (copy.candidateTokensByLayer[l] = n));
    this.restByLayer.forEach((n, l) => (copy.restByLayer[l] = n));
    return copy;
  }

  /**
   * Bytes 8-bit storage of the non-important positions would save: each such position's key and
   * value rows per KV head go from 4 bytes an element to 1, plus one f32 scale per row.
   */
  int8BytesSaved(): number {
    const d = this.shape.headDim;
    return this.restByLayer.reduce((sum, rest, l) => sum + rest * this.shape.kvHeads[l] * 2 * (d * 3 - 4), 0);
  }
}

