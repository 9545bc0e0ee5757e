/**
 * Per-page, per-channel key bounds (Quest, Tang et al. 2024): for each page of `pageSize`
 * positions and each KV head, the elementwise min and max of its keys. For any query q and any
 * key k in the page, q.k <= sum_c max(q_c * max_c, q_c * min_c), the page's upper bound, which is
 * its criticality score. Kept per layer as [pages, kvHeads, headDim] and updated on append.
 */
import type { KVCacheShape } from '../models/kv-cache.js';

export class PageKeyBounds {
  readonly min: Float32Array[];
  readonly max: Float32Array[];
  private readonly lengths: number[];

  constructor(
    readonly shape: KVCacheShape,
    readonly pageSize: number,
  ) {
    const pages = Math.ceil(shape.capacity / pageSize);
    this.min = shape.kvHeads.map((n) => new Float32Array(pages * n * shape.headDim).fill(Infinity));
    this.max = shape.kvHeads.map((n) => new Float32Array(pages * n * shape.headDim).fill(-Infinity));
    this.lengths = new Array<number>(shape.layers).fill(0);
  }

  /** Folds the key of `position` ([kvHeads, headDim]) into its page's bounds. */
  add(layer: number, position: number, key: Float32Array): void {
    const width = key.length;
    const base = Math.floor(position / this.pageSize) * width;
    const min = this.min[layer];
    const max = this.max[layer];
    for (let i = 0; i < width; i++) {
      if (key[i] < min[base + i]) min[base + i] = key[i];
      if (key[i] > max[base + i]) max[base + i] = key[i];
    }
    this.lengths[layer] = Math.max(this.lengths[layer], position + 1);
  }

  pages(layer: number): number {
    return Math.ceil(this.lengths[layer] / this.pageSize);
  }

  /**
   * Page scores per KV head: out[g][page] = sum over the group's query heads h of
   * sum_c max(q_hc * max_pc, q_hc * min_pc). query is [heads, headDim].
   */
  scores(layer: number, query: Float32Array, heads: number): Float64Array[] {
    const kvHeads = this.shape.kvHeads[layer];
    const d = this.shape.headDim;
    const group = heads / kvHeads;
    const pages = this.pages(layer);
    const min = this.min[layer];
    const max = this.max[layer];
    const out = Array.from({ length: kvHeads }, () => new Float64Array(pages));
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      for (let p = 0; p < pages; p++) out[g][p] += pageUpperBound(query, h * d, min, max, (p * kvHeads + g) * d, d);
    }
    return out;
  }

  /** A copy that grows on its own (a forked cache's): the filled pages' bounds and the lengths. */
  clone(): PageKeyBounds {
    const copy = new PageKeyBounds(this.shape, this.pageSize);
    this.shape.kvHeads.forEach((n, l) => {
      const filled = this.pages(l) * n * this.shape.headDim;
      copy.min[l].set(this.min[l].subarray(0, filled));
      copy.max[l].set(this.max[l].subarray(0, filled));
      copy.lengths[l] = this.lengths[l];
    });
    return copy;
  }

  /** Bytes of the bounds of the pages filled so far (min and max, f32). */
  bytes(): number {
    return this.shape.kvHeads.reduce((sum, n, layer) => sum + this.pages(layer) * n * this.shape.headDim * 2 * 4, 0);
  }
}

/** Quest's page criticality: sum_c max(q_c * max_c, q_c * min_c). */
export function pageUpperBound(q: ArrayLike<number>, qOffset: number, min: ArrayLike<number>, max: ArrayLike<number>, offset: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) {
    const a = q[qOffset + c] * max[offset + c];
    const b = q[qOffset + c] * min[offset + c];
    s += a > b ? a : b;
  }
  return s;
}

/** Positions of the given pages (ascending page numbers), clipped to `length`. */
export function pagePositions(pages: ArrayLike<number>, pageSize: number, length: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < pages.length; i++) for (let p = pages[i] * pageSize; p < Math.min(length, (pages[i] + 1) * pageSize); p++) out.push(p);
  return Int32Array.from(out);
}
