/**
 * A KV cache run by a policy: FullKVCache's storage (every position's keys and values stay in
 * place, so a selection is a list of positions, never a copy), with the policy's phases called at
 * the right moments and its answers turned into the attention op's selections:
 * - append(layer, k, v): stores the rows and calls onAppend for each new position;
 * - select(layer, queryPosition, queries): for a multi-token chunk (prompt, later turn), attends
 *   to what is kept plus the whole chunk and then calls onPrefill (which may evict); for one token,
 *   calls the policy's select. Positions a policy evicted are never selected again, and the
 *   query's own position is always attended.
 * Selections go out as i32 [P] when every KV head attends the same positions, else as
 * i32 [kvHeads, P] with -1 padding (AttentionOptions.positionsPerKvHead), null for all.
 *
 * The model passes `queries` ([n, heads, headDim], after RoPE) as the third argument of select;
 * policies that need them (SnapKV at prefill, Quest at decode, ...) raise a clear error without.
 * Keys are read to the host on append (the appended rows only); policies that score keys
 * (readsKeys) get a host mirror of the layer's keys. fork() copies all of it, so that one prefilled
 * context serves several questions (SCBench's multi-request mode).
 */
import { BYTES_PER_ELEMENT } from '../core/dtype.js';
import type { Backend } from '../core/backend.js';
import { ArgumentError } from '../core/errors.js';
import { tensor } from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';
import { FullKVCache, type KVCache, type KVCacheShape } from '../models/kv-cache.js';
import type { KVPolicy, KVPolicyState, LayerKeys, Positions } from './policy.js';
import { perKvHead } from './select.js';

export interface PolicyCacheReport {
  readonly policy: string;
  readonly queryAware: boolean;
  /** Keys and values the policy keeps (all layers, f32) plus its own metadata. */
  readonly kvBytesKept: number;
  /** Keys and values of every committed position (what the full cache holds). */
  readonly kvBytesFull: number;
  /** Keys and values the last selection of every layer reads, plus metadata read to decide. */
  readonly bytesReadPerStep: number;
  /** Layers whose last selection fell back to full because the budget covered the context. */
  readonly fullFallbackLayers: readonly number[];
}

const NO_KEYS = new Float32Array(0);

export class PolicyKVCache implements KVCache {
  readonly shape: KVCacheShape;
  readonly policy: KVPolicy;
  readonly state: KVPolicyState;
  private readonly storage: FullKVCache;
  private readonly hostKeys: Float32Array[] | null;
  private readonly pending: number[];
  /** evicted[layer][kvHead][position] = 1 once the policy dropped it; counts beside. */
  private readonly evicted: Uint8Array[][];
  private readonly evictedCount: number[][];
  private readonly lastBytesRead: number[];
  private readonly lastFellBack: boolean[];
  private readonly lastSelected: (Int32Array[] | null)[];
  private readonly lastTensor: (Tensor | null)[];

  /** `forkOf`: the cache fork() copies (users leave it out; shape and policy are then its own). */
  constructor(shape: KVCacheShape, policy: KVPolicy, backend?: Backend, forkOf?: PolicyKVCache) {
    const { layers, kvHeads, headDim, capacity } = shape;
    this.shape = shape;
    this.policy = policy;
    this.pending = new Array<number>(layers).fill(0);
    // The device selection of a step is the model's to read during that step; a fork makes its own.
    this.lastTensor = new Array(layers).fill(null);
    if (forkOf) {
      const length = forkOf.length;
      this.storage = forkOf.storage.fork();
      this.state = forkOf.state.clone();
      this.hostKeys = forkOf.hostKeys?.map((keys, l) => copyPrefix(keys, length * kvHeads[l] * headDim)) ?? null;
      this.evicted = forkOf.evicted.map((heads) => heads.map((marks) => marks.slice()));
      this.evictedCount = forkOf.evictedCount.map((counts) => [...counts]);
      this.lastBytesRead = [...forkOf.lastBytesRead];
      this.lastFellBack = [...forkOf.lastFellBack];
      this.lastSelected = forkOf.lastSelected.map((lists) => lists?.map((list) => list.slice()) ?? null);
      return;
    }
    this.storage = new FullKVCache(shape, backend);
    this.state = policy.createState(shape);
    this.hostKeys = policy.readsKeys ? kvHeads.map((n) => new Float32Array(capacity * n * headDim)) : null;
    this.evicted = kvHeads.map((n) => Array.from({ length: n }, () => new Uint8Array(capacity)));
    this.evictedCount = kvHeads.map((n) => new Array<number>(n).fill(0));
    this.lastBytesRead = new Array<number>(layers).fill(0);
    this.lastFellBack = new Array<boolean>(layers).fill(false);
    this.lastSelected = new Array(layers).fill(null);
  }

  get length(): number {
    return this.storage.length;
  }

  append(layer: number, keys: Tensor, values: Tensor): void {
    this.storage.append(layer, keys, values);
    const T = keys.shape[0];
    const width = this.shape.kvHeads[layer] * this.shape.headDim;
    const rows = readHost(keys, 'keys');
    this.hostKeys?.[layer].set(rows, this.length * width);
    for (let t = 0; t < T; t++) this.state.onAppend(layer, this.length + t, rows.subarray(t * width, (t + 1) * width));
    this.pending[layer] = T;
  }

  keys(layer: number): Tensor {
    return this.storage.keys(layer);
  }

  values(layer: number): Tensor {
    return this.storage.values(layer);
  }

  /** Positions for the queries of the rows appended to `layer` (see the file comment). */
  select(layer: number, queryPosition: number, queries?: Tensor): Tensor | null {
    const start = this.length;
    const count = this.pending[layer];
    if (count === 0 || queryPosition !== start + count - 1) {
      throw new ArgumentError(`PolicyKVCache.select: query position ${queryPosition} is not the last appended row (${start + count - 1}) of layer ${layer}`);
    }
    const keys = this.layerKeys(layer, start + count);
    const heads = queries ? queries.shape[1] : 0;
    let selected: Int32Array[] | null;
    if (count > 1) {
      // A chunk attends to every earlier position not yet evicted plus all of itself (causal), then
      // the policy may compress; its own positions are never dropped before it has attended.
      selected = this.chunkSelection(layer, start, count);
      const q = queries && this.policy.readsQueries.prefill ? readHost(queries, 'queries') : null;
      this.state.onPrefill(layer, { start, count, keys, queries: q, heads });
      this.lastFellBack[layer] = false;
      this.lastBytesRead[layer] = 0;
    } else {
      const q = queries && this.policy.readsQueries.decode ? readHost(queries, 'queries') : null;
      const logits = q && queries ? this.backendLogits(layer, queries, start + count) : undefined;
      const selection = this.state.select(layer, { position: queryPosition, query: q, heads, keys, logits });
      selected = this.visible(layer, selection.positions, start + 1);
      if (selected) selected = selected.map((list) => (list[list.length - 1] === queryPosition ? list : Int32Array.from([...list.filter((p) => p < queryPosition), queryPosition])));
      this.lastFellBack[layer] = selection.fellBackToFull;
      this.lastBytesRead[layer] = selection.metadataBytesRead;
    }
    this.recordEvictions(layer, start + count);
    this.lastSelected[layer] = selected;
    const length = start + count;
    const rowBytes = this.shape.headDim * 2 * BYTES_PER_ELEMENT.f32;
    this.lastBytesRead[layer] += selected ? selected.reduce((s, l) => s + l.length * rowBytes, 0) : this.shape.kvHeads[layer] * length * rowBytes;
    this.lastTensor[layer]?.dispose();
    this.lastTensor[layer] = selected ? selectionTensor(selected, this.storage.keys(layer).backend) : null;
    return this.lastTensor[layer];
  }

  commit(T: number): void {
    this.storage.commit(T);
    this.pending.fill(0);
  }

  /** Bytes held: the full storage, the host key mirror and the policy's metadata. */
  bytes(): number {
    const mirror = this.hostKeys ? this.hostKeys.reduce((s, k) => s + k.byteLength, 0) : 0;
    return this.storage.bytes() + mirror + this.state.metadataBytes();
  }

  /** The last selection of `layer` on the host (one list per KV head; null: all). */
  lastSelection(layer: number): Int32Array[] | null {
    return this.lastSelected[layer];
  }

  report(): PolicyCacheReport {
    const { kvHeads, headDim } = this.shape;
    const rowBytes = headDim * 2 * BYTES_PER_ELEMENT.f32;
    const length = this.length;
    let kept = 0;
    let full = 0;
    kvHeads.forEach((n, l) => {
      for (let g = 0; g < n; g++) kept += (length - this.evictedCount[l][g]) * rowBytes;
      full += n * length * rowBytes;
    });
    return {
      policy: this.policy.name,
      queryAware: this.policy.queryAware,
      kvBytesKept: kept + this.state.metadataBytes(),
      kvBytesFull: full,
      bytesReadPerStep: this.lastBytesRead.reduce((a, b) => a + b, 0),
      fullFallbackLayers: this.lastFellBack.flatMap((f, l) => (f ? [l] : [])),
    };
  }

  /**
   * A cache holding what this one has committed: the keys and values (copied on the backend), the
   * policy's state (clone()), the host key mirror, evictions and the last selections. The two
   * then grow independently. Only between forward steps (nothing appended and not committed).
   */
  fork(): PolicyKVCache {
    const pendingLayer = this.pending.findIndex((n) => n > 0);
    if (pendingLayer >= 0) throw new ArgumentError(`PolicyKVCache.fork: layer ${pendingLayer} holds ${this.pending[pendingLayer]} appended rows not yet committed; fork between forward steps`);
    return new PolicyKVCache(this.shape, this.policy, undefined, this);
  }

  dispose(): void {
    for (const t of this.lastTensor) t?.dispose();
    this.storage.dispose();
  }

  /**
   * DecodeQuery.logits: the decode query [1, heads, D] against the layer's first `length` keys on
   * the backend (queryKeyLogits), read to the host once, on the policy's first call; undefined
   * where the backend has no such kernel.
   */
  private backendLogits(layer: number, queries: Tensor, length: number): (() => Float32Array) | undefined {
    const keys = this.storage.keys(layer);
    const backend = keys.backend;
    if (!backend.queryKeyLogits || !backend.readSync || queries.shape[0] !== 1) return undefined;
    let logits: Float32Array | undefined;
    return () => {
      if (!logits) {
        const q = queries.reshape([queries.shape[1], queries.shape[2]]);
        const out = backend.queryKeyLogits!(q, keys, length);
        logits = out.readSync() as Float32Array;
        out.dispose();
        q.dispose();
      }
      return logits;
    };
  }

  private layerKeys(layer: number, length: number): LayerKeys {
    return { data: this.hostKeys?.[layer] ?? NO_KEYS, length, kvHeads: this.shape.kvHeads[layer], headDim: this.shape.headDim };
  }

  /** Per-KV-head positions with evicted ones removed; null when that leaves everything. */
  private visible(layer: number, positions: Positions, length: number): Int32Array[] | null {
    const evicted = this.evicted[layer];
    const none = this.evictedCount[layer].every((c) => c === 0);
    if (positions === null && none) return null;
    const lists = perKvHead(positions, evicted.length, length).map((list, g) => (none ? list : list.filter((p) => !evicted[g][p])));
    return lists.every((l) => l.length === length) ? null : lists;
  }

  private chunkSelection(layer: number, start: number, count: number): Int32Array[] | null {
    const evicted = this.evicted[layer];
    if (this.evictedCount[layer].every((c) => c === 0)) return null;
    return evicted.map((marks) => {
      const out: number[] = [];
      for (let p = 0; p < start + count; p++) if (p >= start || !marks[p]) out.push(p);
      return Int32Array.from(out);
    });
  }

  /** Marks what the state no longer keeps; eviction is final. */
  private recordEvictions(layer: number, length: number): void {
    const kept = this.state.kept(layer);
    if (kept === null) return;
    perKvHead(kept, this.evicted[layer].length, length).forEach((list, g) => {
      const mark = new Uint8Array(length);
      for (const p of list) mark[p] = 1;
      const evicted = this.evicted[layer][g];
      for (let p = 0; p < length; p++) {
        if (!mark[p] && !evicted[p]) {
          evicted[p] = 1;
          this.evictedCount[layer][g]++;
        }
      }
    });
  }
}

/** A buffer of `data`'s size holding its first `used` elements (the rest zeros, as a fresh one). */
function copyPrefix(data: Float32Array, used: number): Float32Array {
  const out = new Float32Array(data.length);
  out.set(data.subarray(0, used));
  return out;
}

function readHost(t: Tensor, what: string): Float32Array {
  if (!t.backend.readSync) throw new ArgumentError(`PolicyKVCache reads ${what} on the host; backend '${t.backend.name}' has no synchronous read`);
  return t.readSync() as Float32Array;
}

/** i32 [P] when all KV heads agree, else i32 [kvHeads, P] padded with -1. */
export function selectionTensor(lists: readonly Int32Array[], backend: Backend): Tensor {
  const first = lists[0];
  if (lists.every((l) => l.length === first.length && l.every((p, i) => p === first[i]))) return tensor(first, [first.length], 'i32', backend);
  return tensor(paddedSelection(lists), [lists.length, Math.max(...lists.map((l) => l.length))], 'i32', backend);
}

/** Rows of [kvHeads, P], each list then -1 up to the longest. */
export function paddedSelection(lists: readonly Int32Array[]): Int32Array {
  const width = Math.max(...lists.map((l) => l.length));
  const out = new Int32Array(lists.length * width).fill(-1);
  lists.forEach((l, g) => out.set(l, g * width));
  return out;
}
