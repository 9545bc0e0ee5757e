/**
 * Global allocation: one threshold on a score across all layers, as in global magnitude pruning
 * (Han et al. 2015; the "global" baseline of Wanda's and OWL's papers). The weights scoring below
 * it are counted per layer; a layer's sparsity is its count over its size. The total count is
 * exactly round(target * all weights).
 *
 * Score: |W_ij| (magnitude), or Wanda's |W_ij| * ||X_j||_2 (Sun et al. 2024) with calibration
 * norms. Both are computed in f32, as the criteria compute them.
 *
 * The threshold is found by a radix select on the scores' f32 bit patterns (non-negative floats
 * order as their bits): a histogram of the high 16 bits, then of the low 16 bits inside the bin
 * that holds the k-th smallest, then a count per layer. Three streaming passes, no copy of the
 * scores, however many weights. Ties at the threshold are pruned in layer order so the total is
 * exact (the pipeline's per-layer criterion chooses which weights; only counts matter here).
 */
import { ArgumentError } from '../../core/errors.js';
import type { Allocator, AllocationLayer } from '../types.js';
import { checkFeasible, checkLayers, checkTarget, parameters } from './budget.js';

export interface GlobalOptions {
  /** What the threshold compares: |W| (default) or Wanda's |W| * ||X||_2 (needs calibration norms). */
  readonly score?: 'magnitude' | 'wanda';
}

export class GlobalAllocator implements Allocator {
  readonly name = 'global';
  readonly searches = false;
  readonly needs: { readonly norms: boolean; readonly gram: boolean };
  readonly score: 'magnitude' | 'wanda';

  constructor(options: GlobalOptions = {}) {
    this.score = options.score ?? 'magnitude';
    if (this.score !== 'magnitude' && this.score !== 'wanda') throw new ArgumentError(`global: score must be magnitude or wanda, got ${String(this.score)}`);
    this.needs = { norms: this.score === 'wanda', gram: false };
  }

  async allocate(layers: readonly AllocationLayer[], targetSparsity: number): Promise<Map<string, number>> {
    checkTarget(targetSparsity);
    checkLayers(layers);
    if (layers.length === 0) return new Map();
    checkFeasible(layers, targetSparsity);
    const scorers = layers.map((l) => rowScorer(l, this.score));
    const n = layers.map(parameters);
    const counts = new Array<number>(layers.length).fill(0);
    let pool = layers.map((_, i) => i);
    let k = Math.round(targetSparsity * n.reduce((a, b) => a + b, 0));
    // A layer whose every weight falls under the threshold would vanish: it keeps its best weight
    // (n - 1 pruned) and the threshold is found again over the remaining layers and count.
    for (;;) {
      const got = countSmallest(pool.map((i) => scorers[i]), k);
      const over = pool.filter((i, j) => got[j] > n[i] - 1);
      if (over.length === 0) {
        pool.forEach((i, j) => (counts[i] = got[j]));
        break;
      }
      for (const i of over) {
        counts[i] = n[i] - 1;
        k -= n[i] - 1;
      }
      pool = pool.filter((i) => !over.includes(i));
    }
    return new Map(layers.map((l, i) => [l.name, counts[i] / n[i]]));
  }
}

/** Visits a layer's scores row by row as f32 bit patterns. */
interface RowScorer {
  readonly rows: number;
  row(r: number): Uint32Array;
}

function rowScorer(layer: AllocationLayer, score: 'magnitude' | 'wanda'): RowScorer {
  const { rows, cols, weight, stats } = layer;
  if (score === 'wanda' && !stats) throw new ArgumentError(`global: the wanda score needs calibration norms, and layer ${layer.name} has none`);
  const norms = score === 'wanda' && stats ? Float32Array.from(stats.sumSquares, Math.sqrt) : null;
  const values = new Float32Array(cols);
  const bits = new Uint32Array(values.buffer);
  return {
    rows,
    row(r: number): Uint32Array {
      const o = r * cols;
      if (norms) for (let j = 0; j < cols; j++) values[j] = Math.abs(weight[o + j]) * norms[j];
      else for (let j = 0; j < cols; j++) values[j] = Math.abs(weight[o + j]);
      return bits;
    },
  };
}

/** How many of each layer's scores are among the k smallest of all (ties broken by layer order). */
function countSmallest(layers: readonly RowScorer[], k: number): number[] {
  if (k <= 0) return layers.map(() => 0);
  const each = (visit: (bits: Uint32Array, layer: number) => void) => {
    layers.forEach((l, i) => {
      for (let r = 0; r < l.rows; r++) visit(l.row(r), i);
    });
  };
  // Pass 1: high halves.
  const high = new Float64Array(65536);
  each((bits) => {
    for (let j = 0; j < bits.length; j++) high[bits[j] >>> 16]++;
  });
  const [hBin, belowHigh] = binOf(high, k);
  // Pass 2: low halves inside that bin.
  const low = new Float64Array(65536);
  each((bits) => {
    for (let j = 0; j < bits.length; j++) if (bits[j] >>> 16 === hBin) low[bits[j] & 0xffff]++;
  });
  const [lBin, belowLow] = binOf(low, k - belowHigh);
  const threshold = ((hBin << 16) | lBin) >>> 0;
  let ties = k - belowHigh - belowLow;
  // Pass 3: per layer, everything below the threshold plus ties in layer order.
  const counts = layers.map(() => 0);
  const equal = layers.map(() => 0);
  each((bits, i) => {
    for (let j = 0; j < bits.length; j++) {
      if (bits[j] < threshold) counts[i]++;
      else if (bits[j] === threshold) equal[i]++;
    }
  });
  for (let i = 0; i < layers.length; i++) {
    const t = Math.min(ties, equal[i]);
    counts[i] += t;
    ties -= t;
  }
  return counts;
}

/** The bin holding the k-th smallest item (1-based) and the count of items in bins before it. */
function binOf(hist: Float64Array, k: number): [number, number] {
  let below = 0;
  for (let b = 0; b < hist.length; b++) {
    if (below + hist[b] >= k) return [b, below];
    below += hist[b];
  }
  throw new ArgumentError(`global: ${k} weights asked for, only ${below} scored`);
}
