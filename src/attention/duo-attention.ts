/**
 * DuoAttention (Xiao et al. 2024, "DuoAttention: Efficient Long-Context LLM Inference with
 * Retrieval and Streaming Heads"): only some heads need the whole context (retrieval heads);
 * the others attend to sinks and a recent window (streaming heads) and keep only those.
 *
 * Classification: DuoAttention trains one gate per head on synthetic passkey data. Here
 * (documented substitute, no training): each KV head's distant-attention mass, the attention
 * probability its query heads pay outside the sinks and their own recent window, averaged over
 * the last `queryRows` queries of a long calibration prompt (causal softmax over all earlier
 * positions).
 * Heads whose attention reaches far are the ones a window would break. The top
 * `retrievalShare` of all KV heads, ranked across layers as DuoAttention thresholds its gates,
 * become retrieval heads (ties: earlier layer, then head).
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheShape } from '../models/kv-cache.js';
import { type Budget, budgetsPerHead, resolveBudget } from './budget.js';
import type { DecodeQuery, KVPolicy, KVPolicyState, Selection } from './policy.js';
import { accumulatedAttention, range, unionSorted } from './select.js';

/** One layer's calibration prompt: queries [tokens, heads, headDim], keys [tokens, kvHeads, headDim] at positions 0.. */
export interface HeadCalibrationSample {
  readonly queries: Float32Array;
  readonly keys: Float32Array;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export interface HeadKinds {
  /** retrieval[layer][kvHead]: the head needs the whole context. */
  readonly retrieval: readonly (readonly boolean[])[];
  /** The calibration measure behind it (mean distant-attention mass per KV head). */
  readonly distantMass: readonly (readonly number[])[];
}

export interface HeadClassificationOptions {
  readonly sinks: number;
  readonly window: number;
  /** Share of KV heads (over all layers) made retrieval heads. */
  readonly retrievalShare: number;
  /** Last query rows of each sample that are measured (default 64). */
  readonly queryRows?: number;
}

export function classifyHeads(samples: readonly HeadCalibrationSample[], options: HeadClassificationOptions): HeadKinds {
  const { sinks, window, retrievalShare } = options;
  if (!(retrievalShare >= 0 && retrievalShare <= 1)) throw new ArgumentError(`head classification: retrievalShare ${retrievalShare} must lie in [0, 1]`);
  const distantMass = samples.map((s) => {
    const tokens = s.keys.length / (s.kvHeads * s.headDim);
    const rows = Math.min(options.queryRows ?? 64, tokens);
    const all = range(0, tokens);
    const keys = { data: s.keys, length: tokens, kvHeads: s.kvHeads, headDim: s.headDim };
    const distant = new Array<number>(s.kvHeads).fill(0);
    // Row at position r streams over sinks and (r - window, r]; everything else it attends is distant.
    for (let r = tokens - rows; r < tokens; r++) {
      const mass = accumulatedAttention(keys, s.queries, s.heads, [r, r + 1], 0, Array.from({ length: s.kvHeads }, () => all));
      mass.forEach((m, g) => {
        for (let p = sinks; p <= r - window; p++) distant[g] += m[p];
      });
    }
    return distant.map((m) => m / (rows * (s.heads / s.kvHeads)));
  });
  const ranked = distantMass.flatMap((heads, l) => heads.map((m, g) => ({ m, l, g }))).sort((a, b) => b.m - a.m || a.l - b.l || a.g - b.g);
  const count = Math.round(retrievalShare * ranked.length);
  const retrieval = distantMass.map((heads) => heads.map(() => false));
  for (const { l, g } of ranked.slice(0, count)) retrieval[l][g] = true;
  return { retrieval, distantMass };
}

export interface DuoAttentionOptions {
  readonly heads?: HeadKinds;
  /** Streaming heads' sinks + window; sets the window when given (else sinks + 256). */
  readonly budget?: Budget | null;
  readonly sinks?: number;
  readonly window?: number;
}

/** Streaming heads' span: sinks + window under a budget (resolved at `length`). */
export function streamingSpan(budget: Budget | null, sinks: number, window: number, length: number): { sinks: number; window: number } {
  if (!budget) return { sinks, window };
  const tokens = resolveBudget(budget, length).budgetTokens;
  const s = Math.min(sinks, tokens - 1);
  return { sinks: s, window: tokens - s };
}

export function requireHeadKinds(policy: string, heads: HeadKinds | undefined, shape?: KVCacheShape): HeadKinds {
  if (!heads) throw new ArgumentError(`${policy} needs its heads classified offline: run classifyHeads() on calibration queries and keys and pass the result as \`heads\``);
  if (shape && (heads.retrieval.length !== shape.layers || heads.retrieval.some((h, l) => h.length !== shape.kvHeads[l]))) {
    throw new ArgumentError(`${policy}: the head classification covers ${heads.retrieval.length} layers of [${heads.retrieval.map((h) => h.length)}] KV heads, the cache ${shape.layers} of [${shape.kvHeads}]`);
  }
  return heads;
}

export class DuoAttentionPolicy implements KVPolicy {
  readonly name = 'duo-attention';
  readonly paper = 'Xiao et al. 2024, DuoAttention: Efficient Long-Context LLM Inference with Retrieval and Streaming Heads';
  readonly queryAware = false;
  readonly readsKeys = false;
  readonly readsQueries = { prefill: false, decode: false };
  readonly budget: Budget | null;
  readonly heads: HeadKinds;
  readonly sinks: number;
  readonly window: number;

  constructor(options: DuoAttentionOptions) {
    this.heads = requireHeadKinds(this.name, options.heads);
    this.budget = options.budget ?? null;
    this.sinks = options.sinks ?? 64;
    this.window = options.window ?? 256;
  }

  /** Retrieval heads read the context, streaming heads sinks + window. */
  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    const { sinks, window } = streamingSpan(this.budget, this.sinks, this.window, contextTokens);
    return budgetsPerHead(shape.kvHeads, contextTokens, (l, g) => (this.heads.retrieval[l][g] ? contextTokens : sinks + window));
  }

  createState(shape: KVCacheShape): KVPolicyState {
    requireHeadKinds(this.name, this.heads, shape);
    return new DuoAttentionState(this, shape.layers);
  }

  /** Streaming heads keep sinks + window; retrieval heads everything (null: no head drops anything). */
  keptAt(layer: number, length: number): Int32Array[] | null {
    const { sinks, window } = streamingSpan(this.budget, this.sinks, this.window, length);
    if (sinks + window >= length) return null;
    const streaming = unionSorted(range(0, sinks), range(length - window, length));
    const all = range(0, length);
    return this.heads.retrieval[layer].map((r) => (r ? all : streaming));
  }
}

class DuoAttentionState implements KVPolicyState {
  private readonly lengths: number[];
  constructor(
    private readonly policy: DuoAttentionPolicy,
    layers: number,
  ) {
    this.lengths = new Array<number>(layers).fill(0);
  }
  onAppend(layer: number, position: number): void {
    this.lengths[layer] = position + 1;
  }
  onPrefill(): void {}
  select(layer: number, query: DecodeQuery): Selection {
    const positions = this.policy.keptAt(layer, query.position + 1);
    return { positions, fellBackToFull: positions === null, metadataBytesRead: 0 };
  }
  kept(layer: number): Int32Array[] | null {
    return this.policy.keptAt(layer, this.lengths[layer]);
  }
  metadataBytes(): number {
    return 0;
  }
  clone(): DuoAttentionState {
    const copy = new DuoAttentionState(this.policy, this.lengths.length);
    this.lengths.forEach((n, l) => (copy.lengths[l] = n));
    return copy;
  }
}
