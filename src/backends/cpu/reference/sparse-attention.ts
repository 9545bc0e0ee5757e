/**
 * Sparse attention (Vaswani et al. 2017 restricted to a selection): the plain references of the
 * kernels in wasm/sparse-attention.ts and of attention's per-KV-head selection. Decode over a
 * selection per KV head (Quest, TokenSelect, LServe select per head), and block-sparse prefill
 * (MInference, SeerAttention): softmax of scale * q . k over the kept keys only, then the weighted
 * sum of their values. f64 accumulation; a dense computation with the dropped scores at -inf.
 */
import type { AttentionShape } from './attention.js';

/**
 * out[o .. o + D) = softmax-weighted sum of the V rows of the keys `keys` (key positions) visible
 * to q[qo ..), of KV head kvh; `empty` fills the row when no key is given.
 */
function attendRow(
  q: Float32Array,
  qo: number,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
  kvh: number,
  keys: readonly number[],
  scale: number,
  out: Float32Array,
  o: number,
  empty: number,
): void {
  const { kvHeads, headDim: D } = shape;
  if (keys.length === 0) {
    out.fill(empty, o, o + D);
    return;
  }
  const scores = keys.map((s) => {
    const ko = (s * kvHeads + kvh) * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
    return dot * scale;
  });
  const max = Math.max(...scores);
  const weights = scores.map((x) => Math.exp(x - max));
  const sum = weights.reduce((a, b) => a + b, 0);
  const acc = new Float64Array(D);
  keys.forEach((s, i) => {
    const vo = (s * kvHeads + kvh) * D;
    for (let d = 0; d < D; d++) acc[d] += (weights[i] / sum) * v[vo + d];
  });
  for (let d = 0; d < D; d++) out[o + d] = acc[d];
}

export interface PerKvHeadSelection {
  readonly length: number;
  readonly queryStart: number;
  readonly scale: number;
  /** i32 [kvHeads, perHead]: each row ascending, ending in -1 padding where a head keeps fewer. */
  readonly positionsPerKvHead: Int32Array;
  readonly perHead: number;
  readonly window: number | null;
}

/**
 * Attention over a KV cache where KV head j (and its query heads) attends only to row j of the
 * selection; causal and window limits as in attentionReference. Rows with nothing visible: NaN.
 */
export function attentionPerKvHeadReference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
  selection: PerKvHeadSelection,
  out: Float32Array,
): void {
  const { queries, heads, kvHeads, headDim: D } = shape;
  const { length, queryStart, scale, positionsPerKvHead, perHead, window } = selection;
  const group = heads / kvHeads;
  for (let t = 0; t < queries; t++) {
    const p = queryStart + t;
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const row = Array.from(positionsPerKvHead.subarray(kvh * perHead, (kvh + 1) * perHead));
      const keys = row.filter((s) => s >= 0 && s <= p && s < length && (window === null || s > p - window));
      const o = (t * heads + h) * D;
      attendRow(q, o, k, v, shape, kvh, keys, scale, out, o, NaN);
    }
  }
}

export interface BlockSparseSelection {
  readonly blockQ: number;
  readonly blockK: number;
  readonly scale: number;
  readonly causal: boolean;
  /** u8 [heads, ceil(T / blockQ), ceil(T / blockK)], 1 = computed. */
  readonly blocks: Uint8Array;
}

/**
 * Block-sparse prefill: q [T, heads, D] over k, v [T, kvHeads, D]; query t of head h sees key s
 * when blocks[h, t / blockQ, s / blockK] is 1 (and s <= t when causal). Rows with nothing: zeros.
 */
export function blockSparseAttentionReference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
  selection: BlockSparseSelection,
  out: Float32Array,
): void {
  const { queries: T, heads, kvHeads, headDim: D } = shape;
  const { blockQ, blockK, scale, causal, blocks } = selection;
  const group = heads / kvHeads;
  const qBlocks = Math.ceil(T / blockQ);
  const kBlocks = Math.ceil(T / blockK);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const maskRow = (h * qBlocks + Math.floor(t / blockQ)) * kBlocks;
      const keys: number[] = [];
      for (let s = 0; s < (causal ? t + 1 : T); s++) if (blocks[maskRow + Math.floor(s / blockK)]) keys.push(s);
      const o = (t * heads + h) * D;
      attendRow(q, o, k, v, shape, Math.floor(h / group), keys, scale, out, o, 0);
    }
  }
}
