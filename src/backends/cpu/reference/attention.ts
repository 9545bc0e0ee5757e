/**
 * Causal scaled dot-product attention over a KV cache (Vaswani et al. 2017), grouped-query
 * heads (Ainslie et al. 2023): the plain reference of the attention kernels. For each query row
 * t and head h: softmax over the visible positions s of scale * q[t,h] . k[s,h'] then the
 * weighted sum of v[s,h'], h' = floor(h / (heads / kvHeads)). f64 accumulation.
 */
export interface AttentionShape {
  readonly queries: number; // T
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export interface AttentionSelection {
  readonly length: number;
  readonly queryStart: number;
  readonly scale: number;
  /** Ascending cached positions to consider, or null for all of [0, length). */
  readonly positions: Int32Array | null;
  readonly window: number | null;
}

export function attentionReference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
  selection: AttentionSelection,
  out: Float32Array,
): void {
  const { queries, heads, kvHeads, headDim: D } = shape;
  const { length, queryStart, scale, positions, window } = selection;
  const group = heads / kvHeads;
  const candidates = positions ?? Int32Array.from({ length }, (_, i) => i);
  const scores = new Float64Array(candidates.length);
  for (let t = 0; t < queries; t++) {
    const p = queryStart + t;
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const qo = (t * heads + h) * D;
      let max = -Infinity;
      let visible = 0;
      for (let i = 0; i < candidates.length; i++) {
        const s = candidates[i];
        if (s > p || s >= length || (window !== null && s <= p - window)) {
          scores[i] = -Infinity;
          continue;
        }
        const ko = (s * kvHeads + kvh) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
        scores[i] = dot * scale;
        max = Math.max(max, scores[i]);
        visible++;
      }
      const o = (t * heads + h) * D;
      if (visible === 0) {
        // Nothing to attend to: no distribution exists (as softmax over an all -inf row).
        out.fill(NaN, o, o + D);
        continue;
      }
      let sum = 0;
      for (let i = 0; i < candidates.length; i++) {
        scores[i] = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - max);
        sum += scores[i];
      }
      const acc = new Float64Array(D);
      for (let i = 0; i < candidates.length; i++) {
        if (scores[i] === 0) continue;
        const w = scores[i] / sum;
        const vo = (candidates[i] * kvHeads + kvh) * D;
        for (let d = 0; d < D; d++) acc[d] += w * v[vo + d];
      }
      for (let d = 0; d < D; d++) out[o + d] = acc[d];
    }
  }
}

/**
 * One query's unscaled dot products with the cached keys, per query head: out[h * length + t] =
 * q[h] . k[t, floor(h / (heads / kvHeads))] for t < length (the scores query-aware selection
 * policies vote with). q [heads, D], k [>= length, kvHeads, D]. f64 accumulation.
 */
export function queryKeyLogitsReference(q: Float32Array, k: Float32Array, heads: number, kvHeads: number, D: number, length: number, out: Float32Array): void {
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const ko = Math.floor(h / group) * D;
    for (let t = 0; t < length; t++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[h * D + d] * k[t * kvHeads * D + ko + d];
      out[h * length + t] = dot;
    }
  }
}
