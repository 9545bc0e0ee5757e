/** Drives a policy state by hand: crafted keys and queries, the phases in the order the cache calls them. */
import { Random } from '../../src/core/random.js';
import type { KVCacheShape } from '../../src/models/kv-cache.js';
import type { KVPolicyState, LayerKeys, Selection } from '../../src/attention/policy.js';

export function shapeOf(kvHeads: number, headDim: number, capacity: number, layers = 1): KVCacheShape {
  return { layers, kvHeads: new Array<number>(layers).fill(kvHeads), headDim, capacity };
}

/** Keys [length, kvHeads, headDim] from a function of (position, kvHead, channel). */
export function makeKeys(length: number, kvHeads: number, headDim: number, at: (p: number, g: number, c: number) => number): Float32Array {
  const out = new Float32Array(length * kvHeads * headDim);
  for (let p = 0; p < length; p++) for (let g = 0; g < kvHeads; g++) for (let c = 0; c < headDim; c++) out[(p * kvHeads + g) * headDim + c] = at(p, g, c);
  return out;
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => scale * (rng.uniform() * 2 - 1));
}

export function layerKeys(data: Float32Array, length: number, kvHeads: number, headDim: number): LayerKeys {
  return { data, length, kvHeads, headDim };
}

/** Appends positions [from, to) of `keys` to `layer` (onAppend per position). */
export function appendRows(state: KVPolicyState, layer: number, keys: Float32Array, kvHeads: number, headDim: number, from: number, to: number): void {
  const w = kvHeads * headDim;
  for (let p = from; p < to; p++) state.onAppend(layer, p, keys.subarray(p * w, (p + 1) * w));
}

/** A prompt of `length` positions: append all, then onPrefill with its queries [length, heads, headDim]. */
export function prefill(state: KVPolicyState, keys: Float32Array, queries: Float32Array | null, length: number, heads: number, kvHeads: number, headDim: number, layer = 0): void {
  appendRows(state, layer, keys, kvHeads, headDim, 0, length);
  state.onPrefill(layer, { start: 0, count: length, keys: layerKeys(keys, length, kvHeads, headDim), queries, heads });
}

/** One decode step at `position` (its key appended first) with query [heads, headDim]. */
export function decode(state: KVPolicyState, keys: Float32Array, query: Float32Array | null, position: number, heads: number, kvHeads: number, headDim: number, layer = 0): Selection {
  appendRows(state, layer, keys, kvHeads, headDim, position, position + 1);
  return state.select(layer, { position, query, heads, keys: layerKeys(keys, position + 1, kvHeads, headDim) });
}

/** The selection as plain arrays per KV head (null stays null). */
export function lists(selection: Selection | { positions: Selection['positions'] }, kvHeads = 1): number[][] | null {
  const p = selection.positions;
  if (p === null) return null;
  if (p instanceof Int32Array) return Array.from({ length: kvHeads }, () => [...p]);
  return p.map((l) => [...l]);
}

export function span(begin: number, end: number): number[] {
  return Array.from({ length: end - begin }, (_, i) => begin + i);
}
