/**
 * A sequence's key/value cache: one [capacity, kvHeads, headDim] buffer per layer for keys and
 * one for values, allocated once when the sequence starts and appended in place (reallocating
 * per step is a known cause of slow decoding). Position-major, so the first `length` rows of a
 * buffer are exactly the cached positions. Attention reads it through this small interface:
 * append, the whole buffer (read all), and an optional selection of positions (the hook a
 * KV-cache policy fills).
 *
 * fork() copies a cache at a commit boundary (SCBench's multi-request mode: one prefilled document,
 * many questions): the copy owns its buffers, so either may grow or be disposed on its own.
 */
import type { Backend } from '../core/backend.js';
import { BYTES_PER_ELEMENT } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { copyInto, slice, zeros } from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';

export interface KVCacheShape {
  readonly layers: number;
  /** KV heads of each layer (blocks may differ after structured pruning). */
  readonly kvHeads: readonly number[];
  readonly headDim: number;
  /** Positions the cache can hold (prompt + new tokens, at most the model's context). */
  readonly capacity: number;
}

export interface KVCache {
  readonly shape: KVCacheShape;
  /** Positions committed (visible to later steps). */
  readonly length: number;
  /** Writes a step's keys and values [T, kvHeads, headDim] for `layer` at rows [length, length + T). */
  append(layer: number, keys: Tensor, values: Tensor): void;
  /** All rows of the layer's key buffer [capacity, kvHeads, headDim] (rows < length + pending hold data). */
  keys(layer: number): Tensor;
  values(layer: number): Tensor;
  /**
   * The cached positions the step's queries (the last at `queryPosition`) should attend to, or
   * null for all of them: i32 [P] for every head, or i32 [kvHeads, P] per KV head (rows
   * ascending, padded with -1 at the end). `queries` are the step's [n, heads, headDim] after
   * rotary embedding, for query-aware policies (src/attention/). The full cache answers null.
   */
  select(layer: number, queryPosition: number, queries?: Tensor): Tensor | null;
  /** Makes the T appended rows visible: length += T. */
  commit(T: number): void;
  /** Bytes the cache holds (both buffers, all layers). */
  bytes(): number;
  /**
   * A new cache of the same shape holding what this one has committed (and, for a policy cache,
   * the policy's state); the two then evolve independently. Only between forward steps: rows
   * appended but not committed are not part of the copy.
   */
  fork(): KVCache;
  dispose(): void;
}

/** Buffers a fork takes over, and their committed length. */
interface CopiedBuffers {
  readonly keys: Tensor[];
  readonly values: Tensor[];
  readonly length: number;
}

/** The full cache: every position kept and attended to. */
export class FullKVCache implements KVCache {
  readonly shape: KVCacheShape;
  private committed: number;
  private readonly keyBuffers: Tensor[];
  private readonly valueBuffers: Tensor[];

  /** `copied`: fork()'s buffers, which the new cache owns (users leave it out). */
  constructor(shape: KVCacheShape, backend?: Backend, copied?: CopiedBuffers) {
    const { layers, kvHeads, headDim, capacity } = shape;
    if (![layers, headDim, capacity, ...kvHeads].every((n) => Number.isInteger(n) && n > 0) || kvHeads.length !== layers) {
      throw new ArgumentError(`KV cache: layers, kvHeads (one per layer), headDim and capacity must be positive integers, got ${JSON.stringify(shape)}`);
    }
    this.shape = shape;
    this.keyBuffers = copied?.keys ?? kvHeads.map((n) => zeros([capacity, n, headDim], 'f32', backend));
    this.valueBuffers = copied?.values ?? kvHeads.map((n) => zeros([capacity, n, headDim], 'f32', backend));
    this.committed = copied?.length ?? 0;
  }

  get length(): number {
    return this.committed;
  }

  append(layer: number, keys: Tensor, values: Tensor): void {
    const { kvHeads, headDim, capacity } = this.shape;
    const T = keys.shape[0];
    if (this.committed + T > capacity) {
      throw new ArgumentError(`KV cache is full: ${this.committed} + ${T} positions exceed its capacity of ${capacity}`);
    }
    const offset = this.committed * kvHeads[layer] * headDim;
    copyInto(this.keyBuffers[layer], offset, keys);
    copyInto(this.valueBuffers[layer], offset, values);
  }

  keys(layer: number): Tensor {
    return this.keyBuffers[layer];
  }

  values(layer: number): Tensor {
    return this.valueBuffers[layer];
  }

  select(): Tensor | null {
    return null;
  }

  commit(T: number): void {
    if (this.committed + T > this.shape.capacity) throw new ArgumentError(`KV cache: cannot commit past its capacity of ${this.shape.capacity}`);
    this.committed += T;
  }

  bytes(): number {
    const { kvHeads, headDim, capacity } = this.shape;
    return 2 * capacity * kvHeads.reduce((a, b) => a + b, 0) * headDim * BYTES_PER_ELEMENT.f32;
  }

  /** A copy of the committed rows on the backend (no host round trip); see KVCache.fork. */
  fork(): FullKVCache {
    const length = this.committed;
    const copy = (buffer: Tensor) => copyRows(buffer, length);
    return new FullKVCache(this.shape, this.keyBuffers[0].backend, { keys: this.keyBuffers.map(copy), values: this.valueBuffers.map(copy), length });
  }

  dispose(): void {
    for (const t of [...this.keyBuffers, ...this.valueBuffers]) t.dispose();
  }
}

/**
 * A new buffer of `buffer`'s shape whose first `rows` rows equal it. A whole-buffer slice copies
 * every row once; zeros plus the used rows (sliced, then copied in) write the capacity and move
 * the used rows twice, so it is cheaper only while fewer than half the rows are used. Rows past
 * `rows` are never read before they are written, so either content there is fine.
 */
function copyRows(buffer: Tensor, rows: number): Tensor {
  const capacity = buffer.shape[0];
  if (2 * rows >= capacity) return slice(buffer, [0], [capacity]);
  const out = zeros(buffer.shape, buffer.dtype, buffer.backend);
  if (rows > 0) {
    const used = slice(buffer, [0], [rows]);
    copyInto(out, 0, used);
    used.dispose();
  }
  return out;
}
