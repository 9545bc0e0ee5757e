/**
 * The KV-cache policy interface (the shape of SCBench's taxonomy: a cache is generated at
 * prefill, may be compressed there, grows on append, and is retrieved from at each decode step).
 *
 * A KVPolicy is configuration (name, paper, budget, options) and makes one KVPolicyState per
 * sequence; the state holds what the method keeps (Quest's page bounds, H2O's accumulated scores,
 * a selection cache) and answers the three phases:
 * - onAppend(layer, position, key): every new position's key, once, in order;
 * - onPrefill(layer, chunk): after a multi-token chunk (a prompt, or a later turn's question) has
 *   been appended; the chunk's queries are there, and the policy may evict (compress);
 * - select(layer, query): which kept positions a decode query attends to.
 * kept(layer) says what the state still keeps; positions it drops never come back. clone() copies
 * the state so that one prefilled cache can serve several requests (KVCache.fork).
 *
 * Positions are per KV head (query heads of a group read their KV head's list), as the attention
 * op's positionsPerKvHead takes them; a head-agnostic policy returns one list for all heads.
 * Everything here works on host Float32Arrays so that selections are exact and testable.
 */
import type { KVCacheShape } from '../models/kv-cache.js';
import type { Budget } from './budget.js';

/** One layer's keys on the host: rows [0, length) of [capacity, kvHeads, headDim], position-major. */
export interface LayerKeys {
  readonly data: Float32Array;
  readonly length: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** A multi-token chunk just appended at positions [start, start + count). */
export interface PrefillChunk {
  readonly start: number;
  readonly count: number;
  /** Keys through the chunk's end (length = start + count). */
  readonly keys: LayerKeys;
  /** The chunk's queries [count, heads, headDim] (after RoPE), or null when the model passed none. */
  readonly queries: Float32Array | null;
  readonly heads: number;
}

/** A decode step's query at `position` (already appended: keys.length = position + 1). */
export interface DecodeQuery {
  readonly position: number;
  /** [heads, headDim] after RoPE, or null when the model passed none. */
  readonly query: Float32Array | null;
  readonly heads: number;
  readonly keys: LayerKeys;
  /**
   * The query's unscaled dot products with every key, [heads, position + 1] (head h against KV
   * head h / (heads / kvHeads)), computed on the backend on first call; absent where the backend
   * has no kernel for it (the policy then computes on the host).
   */
  readonly logits?: () => Float32Array;
}

/**
 * Positions to attend: null for all; one ascending Int32Array for every head (head-agnostic); or
 * one ascending Int32Array per KV head.
 */
export type Positions = Int32Array | readonly Int32Array[] | null;

export interface Selection {
  readonly positions: Positions;
  /** The budget covered the whole context, so the step attends to everything kept. */
  readonly fellBackToFull: boolean;
  /** Bytes of the policy's own metadata read to decide (page bounds, label cache, keys scored). */
  readonly metadataBytesRead: number;
}

export interface KVPolicyState {
  onAppend(layer: number, position: number, key: Float32Array): void;
  onPrefill(layer: number, chunk: PrefillChunk): void;
  select(layer: number, query: DecodeQuery): Selection;
  /** Positions still kept (null: all appended so far). Evicted positions never return. */
  kept(layer: number): Positions;
  /** Bytes of the state itself (page bounds, label cache, scores), beside the keys and values. */
  metadataBytes(): number;
  /**
   * A deep copy for a forked cache (PolicyKVCache.fork): everything the state changes (typed
   * arrays, lists, counters) copied, never shared, so that the two states evolve independently;
   * the policy (configuration, calibration) is shared.
   */
  clone(): KVPolicyState;
}

export interface KVPolicy {
  /** The registry name (`--kv-policy`). */
  readonly name: string;
  /** Authors, year and title of the method's paper. */
  readonly paper: string;
  /**
   * True when each decode step's selection is a function of that step's query, so the policy
   * adapts to a question asked after the cache was built (Quest, TokenSelect, ...). False when
   * what is attended was fixed by what the policy saw before the question (sinks and window, the
   * prompt's last window, past attention): question-blind when a cache serves several requests.
   */
  readonly queryAware: boolean;
  readonly budget: Budget | null;
  /** The policy reads keys on the host (the cache mirrors them there). */
  readonly readsKeys: boolean;
  /** Which queries the policy needs from the model: at prefill (last window), at decode, both. */
  readonly readsQueries: { readonly prefill: boolean; readonly decode: boolean };
  /**
   * The budget resolved per layer and KV head at a context of `contextTokens`: positions each
   * head keeps or reads per step (the context itself where the policy falls back to full).
   * Dynamic policies (ZipVL) give their cap.
   */
  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][];
  createState(shape: KVCacheShape): KVPolicyState;
}

/** Selection of every kept position, with no metadata read (full, or a fallback). */
export function selectAll(fellBackToFull: boolean): Selection {
  return { positions: null, fellBackToFull, metadataBytesRead: 0 };
}
