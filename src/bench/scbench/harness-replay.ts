/**
 * One model prefill for every policy (SCBench's shared-context modes, Li et al. 2024: one context
 * cache serves several requests). A RecordingKVCache writes down, per forward step, what the model
 * handed the cache — every layer's keys, values and queries and the query position — and
 * replayInto() feeds the same calls to a fresh cache of any policy: the policy sees exactly the
 * inputs a prefill through the model would give it (prefill attention is dense in a policy
 * cache) and so reaches the same state, with no model compute. Copies of a cache that already
 * holds a policy's state are KVCache.fork(); the replay is for a context one cache prefilled and
 * many policies start from.
 *
 * Cost: the log holds keys, values and queries of every recorded position on the host (about 1.5x
 * the full f32 KV bytes with as many query heads as KV heads); each replay copies the keys and
 * values into the new cache and runs the policy's own prefill/append bookkeeping (its scoring of
 * keys, page bounds, ...), never the model's layers.
 */
import type { Backend } from '../../core/backend.js';
import { ArgumentError } from '../../core/errors.js';
import { tensor } from '../../core/ops.js';
import type { Shape } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { KVCache, KVCacheShape } from '../../models/kv-cache.js';

interface HostTensor {
  readonly data: Float32Array;
  readonly shape: Shape;
}

/** What one layer of one forward step gave the cache. */
interface LayerCall {
  keys: HostTensor;
  values: HostTensor;
  queryPosition: number;
  queries: HostTensor | null;
}

/** One forward step: its layers' calls and the rows it committed. */
export interface ForwardRecord {
  readonly layers: readonly LayerCall[];
  readonly committed: number;
}

/** The calls a cache received, in order; shareable between forks (records are never changed). */
export type CacheLog = readonly ForwardRecord[];

/** A KVCache that passes every call to `inner` and records it (see the file comment). */
export class RecordingKVCache implements KVCache {
  readonly inner: KVCache;
  private readonly records: ForwardRecord[];
  private current: LayerCall[] = [];

  /** `history`: the log of the calls `inner` has already received (it continues that log). */
  constructor(inner: KVCache, history: CacheLog = []) {
    this.inner = inner;
    this.records = [...history];
  }

  get shape(): KVCacheShape {
    return this.inner.shape;
  }

  get length(): number {
    return this.inner.length;
  }

  get log(): CacheLog {
    return this.records;
  }

  append(layer: number, keys: Tensor, values: Tensor): void {
    this.inner.append(layer, keys, values);
    this.current[layer] = { keys: hostCopy(keys), values: hostCopy(values), queryPosition: -1, queries: null };
  }

  keys(layer: number): Tensor {
    return this.inner.keys(layer);
  }

  values(layer: number): Tensor {
    return this.inner.values(layer);
  }

  select(layer: number, queryPosition: number, queries?: Tensor): Tensor | null {
    const call = this.current[layer];
    if (call === undefined) throw new ArgumentError(`RecordingKVCache.select: layer ${layer} selected before it appended`);
    call.queryPosition = queryPosition;
    call.queries = queries ? hostCopy(queries) : null;
    return this.inner.select(layer, queryPosition, queries);
  }

  commit(T: number): void {
    this.inner.commit(T);
    this.records.push({ layers: this.current, committed: T });
    this.current = [];
  }

  bytes(): number {
    return this.inner.bytes();
  }

  /** A fork of `inner` that continues this log (between forward steps only). */
  fork(): RecordingKVCache {
    if (this.current.length > 0) throw new ArgumentError('RecordingKVCache.fork: a forward step is under way (appended, not committed); fork between steps');
    return new RecordingKVCache(this.inner.fork(), this.records);
  }

  dispose(): void {
    this.inner.dispose();
  }
}

/** Feeds `log` to `target` (a fresh cache of the same shape) as the model fed it the first time. */
export function replayInto(log: CacheLog, target: KVCache, backend: Backend): void {
  if (target.length !== 0) throw new ArgumentError(`replayInto: the target cache must be empty, it holds ${target.length} positions`);
  for (const record of log) {
    record.layers.forEach((call, layer) => {
      const keys = tensor(call.keys.data, call.keys.shape, 'f32', backend);
      const values = tensor(call.values.data, call.values.shape, 'f32', backend);
      const queries = call.queries ? tensor(call.queries.data, call.queries.shape, 'f32', backend) : undefined;
      target.append(layer, keys, values);
      if (call.queryPosition >= 0) target.select(layer, call.queryPosition, queries);
      keys.dispose();
      values.dispose();
      queries?.dispose();
    });
    target.commit(record.committed);
  }
}

/** Positions the log commits in all. */
export function loggedLength(log: CacheLog): number {
  return log.reduce((n, r) => n + r.committed, 0);
}

function hostCopy(t: Tensor): HostTensor {
  if (!t.backend.readSync) throw new ArgumentError(`RecordingKVCache reads tensors on the host; backend '${t.backend.name}' has no synchronous read`);
  return { data: Float32Array.from(t.readSync() as Float32Array), shape: [...t.shape] };
}
