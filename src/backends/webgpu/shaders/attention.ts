/**
 * Causal scaled dot-product attention over a position-major KV cache, grouped-query heads
 * (reference: backends/cpu/reference/attention.ts). One workgroup per (query row t, head h). The
 * candidate positions go by in chunks of WG: each invocation scores one candidate into workgroup
 * memory, then an online softmax (Milakov & Gimelshein 2018, as in FlashAttention) rescales the
 * running sum and output by exp(oldMax - newMax) and adds the chunk, so any context length fits
 * in fixed workgroup memory and the scores are never written out.
 * q, out [T, heads, D]; k, v [capacity, kvHeads, D]; positions (optional) i32 [count], ascending.
 */
import { Params } from '../params.js';
import { ENTRY_ARGS, type KernelSpec, read, write } from './common.js';

/**
 * Invocations per workgroup and candidates per chunk: the most WebGPU guarantees, as decode has
 * only `heads` workgroups and each needs many loads in flight (4x faster than 64 on an H200).
 */
export const ATTENTION_CHUNK = 256;
const WG = ATTENTION_CHUNK;

export interface AttentionSpec {
  readonly q: GPUBuffer;
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  readonly out: GPUBuffer;
  /** i32 cached positions to consider, or null for all of [0, length). */
  readonly positions: GPUBuffer | null;
  readonly count: number;
  readonly T: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly length: number;
  /** Clamped by the caller to fit a u32 without changing which positions are visible. */
  readonly queryStart: number;
  readonly scale: number;
  /** 0: no window. */
  readonly window: number;
}

export function attentionKernel(s: AttentionSpec): KernelSpec {
  // Output columns per invocation, fixed per pipeline so the accumulators stay in registers.
  const columns = Math.max(1, Math.ceil(s.headDim / WG));
  const selected = s.positions !== null;
  // q . k by vec4 loads where rows are whole vec4s (16-byte aligned as D % 4 == 0).
  const vec = s.headDim % 4 === 0;
  const params = new Params()
    .u32('rows', s.T * s.heads)
    .u32('heads', s.heads)
    .u32('group', s.heads / s.kvHeads)
    .u32('kv_heads', s.kvHeads)
    .u32('D', s.headDim)
    .u32('length', s.length)
    .u32('start', s.queryStart)
    .u32('window', s.window)
    .u32('count', s.count)
    .f32('scale', s.scale);
  const candidate = selected
    ? 'let s = bitcast<u32>(POS[i]); // a negative position becomes too large to be visible'
    : 'let s = lo + i;';
  const qk = vec
    ? 'for (var d = 0u; d < D / 4u; d++) { qk += dot(Q[qo / 4u + d], K[base / 4u + d]); }'
    : 'for (var d = 0u; d < D; d++) { qk += Q[qo + d] * K[base + d]; }';
  return {
    key: `attention:${selected ? 'positions' : 'all'}:${vec ? 'vec4' : 'f32'}:${columns}`,
    params,
    bindings: [
      read('Q', vec ? 'vec4<f32>' : 'f32', s.q),
      read('K', vec ? 'vec4<f32>' : 'f32', s.k),
      read('V', 'f32', s.v),
      ...(selected ? [read('POS', 'i32', s.positions as GPUBuffer)] : []),
      write('OUT', 'f32', s.out),
    ],
    workgroups: s.T * s.heads,
    body: () => /* wgsl */ `
const WG = ${WG}u;
const COLUMNS = ${columns}u;
var<workgroup> weight: array<f32, WG>; // exp(score - running max) of this chunk's candidates
var<workgroup> row: array<u32, WG>;    // where each one's K / V row starts
var<workgroup> red: array<f32, WG>;

fn nan_f32() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }

fn group_max(x: f32, li: u32) -> f32 {
  red[li] = x;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w >> 1u) {
    if (li < w) { red[li] = max(red[li], red[li + w]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // all have read r before red is reused
  return r;
}

fn group_sum(x: f32, li: u32) -> f32 {
  red[li] = x;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w >> 1u) {
    if (li < w) { red[li] = red[li] + red[li + w]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(${WG})
fn main(${ENTRY_ARGS}) {
  let r = linear_group(wid, nwg);
  if (r >= p_rows()) { return; } // uniform: keeps the barriers legal
  let D = p_D();
  let kvh = (r % p_heads()) / p_group();
  // Query position qp sees s in [lo, hi): s <= qp, s < length, s > qp - window.
  let qp = p_start() + r / p_heads();
  let hi = select(qp + 1u, p_length(), qp >= p_length());
  var lo = 0u;
  if (p_window() > 0u && qp >= p_window()) { lo = qp + 1u - p_window(); }
  let n = ${selected ? 'p_count()' : 'select(0u, hi - lo, hi > lo)'};
  let qo = r * D;
  // The weighted V sum: invocations own columns d0, d0 + span, ... of slice \`slice\` of each chunk's
  // candidates; below WG columns, WG / D slices keep all (but WG % D) invocations busy.
  let span = min(D, WG);
  let slices = WG / span;
  let slice = li / span;
  let d0 = li % span;
  var m = neg_inf(); // running max of the scores so far
  var l = 0.0;       // this invocation's share of sum exp(score - m)
  var acc: array<f32, COLUMNS>;
  for (var c = 0u; c < n; c += WG) {
    let i = c + li;
    var score = neg_inf();
    var base = 0u;
    if (i < n) {
      ${candidate}
      if (s >= lo && s < hi) {
        base = (s * p_kv_heads() + kvh) * D;
        var qk = 0.0;
        ${qk}
        score = qk * p_scale();
      }
    }
    let m_new = max(m, group_max(score, li));
    // Invisible candidates weigh 0; while nothing is visible m_new is -inf and so is every score.
    let e = select(0.0, exp(score - m_new), score > neg_inf());
    let rescale = select(0.0, exp(m - m_new), m > neg_inf());
    l = l * rescale + e;
    weight[li] = e;
    row[li] = base;
    workgroupBarrier();
    let chunk = min(WG, n - c);
    for (var a = 0u; a < COLUMNS; a++) {
      let d = d0 + a * span;
      var sum = acc[a] * rescale;
      if (d < D && slice < slices) {
        for (var j = slice; j < chunk; j += slices) {
          let w = weight[j];
          if (w != 0.0) { sum += w * V[row[j] + d]; } // skips rows that were never visible
        }
      }
      acc[a] = sum;
    }
    m = m_new;
    workgroupBarrier(); // all have read this chunk before the next overwrites it
  }
  // The largest score contributes exp(0) = 1, so total is 0 only when nothing was visible.
  let total = group_sum(l, li);
  if (COLUMNS == 1u && slices > 1u) {
    // Add up the slices' partial sums of each column.
    red[li] = acc[0];
    workgroupBarrier();
    var sum = 0.0;
    if (slice == 0u) { for (var k = 0u; k < slices; k++) { sum += red[d0 + k * span]; } }
    acc[0] = sum;
  }
  if (slice == 0u) {
    for (var a = 0u; a < COLUMNS; a++) {
      let d = d0 + a * span;
      if (d < D) { OUT[qo + d] = select(acc[a] / total, nan_f32(), total == 0.0); }
    }
  }
}`,
  };
}
