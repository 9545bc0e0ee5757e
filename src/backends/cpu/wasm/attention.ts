// Causal scaled dot-product attention over a position-major KV cache (Vaswani et al. 2017), with
// grouped-query heads (Ainslie et al. 2023). Reference: backends/cpu/reference/attention.ts.
// q, out [T, heads, D]; k, v [capacity, kvHeads, D] of which rows < length hold data.
// Each (query row t, head h) takes three passes over its visible positions: scores into per-thread
// scratch, a max-subtracted softmax there, then the probability-weighted sum of V rows. Heads that
// share a query row and a KV head go through the passes together, so that each K and V row comes
// from memory once for all of them: decode reads the cache once per KV head, not per query head.
import { expShiftedSum, rowMax } from './math';
import { hsum, madd, zero } from './simd';

// Heads taken together at most (the scratch holds this many score rows per thread).
const MAX_GROUP = 8;

// The D % 4 tails, scalar: sum of q[i] k[i], and y[i] += w x[i], over bytes [o, end).
@inline function dotTail(q: usize, k: usize, o: usize, end: usize): f32 {
  let s: f32 = 0;
  for (; o < end; o += 4) s += load<f32>(q + o) * load<f32>(k + o);
  return s;
}

@inline function axpyTail(y: usize, w: f32, x: usize, o: usize, end: usize): void {
  for (; o < end; o += 4) store<f32>(y + o, load<f32>(y + o) + w * load<f32>(x + o));
}

// Scores of one query against four keys, scale * q . k_i to out[0..4). Four rows are in flight at
// once (their cache misses overlap) and each load of q feeds four madds. WebAssembly loads need no
// alignment, so whole vectors run SIMD for any D; only the D % 4 tail is scalar.
@inline export function dot4(q: usize, k0: usize, k1: usize, k2: usize, k3: usize, D: i32, scale: f32, out: usize): void {
  let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
  const end4 = <usize>(D & ~3) << 2, end = <usize>D << 2;
  let o: usize = 0;
  for (; o < end4; o += 16) {
    const x = v128.load(q + o);
    a0 = madd(x, v128.load(k0 + o), a0);
    a1 = madd(x, v128.load(k1 + o), a1);
    a2 = madd(x, v128.load(k2 + o), a2);
    a3 = madd(x, v128.load(k3 + o), a3);
  }
  store<f32>(out, (hsum(a0) + dotTail(q, k0, o, end)) * scale);
  store<f32>(out, (hsum(a1) + dotTail(q, k1, o, end)) * scale, 4);
  store<f32>(out, (hsum(a2) + dotTail(q, k2, o, end)) * scale, 8);
  store<f32>(out, (hsum(a3) + dotTail(q, k3, o, end)) * scale, 12);
}

// The same for two queries (heads of one KV head), scores to out and outb: each k load feeds two
// madds, which took a tenth off prefill.
@inline export function dot2x4(q: usize, qb: usize, k0: usize, k1: usize, k2: usize, k3: usize, D: i32, scale: f32, out: usize, outb: usize): void {
  let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
  let b0 = zero(), b1 = zero(), b2 = zero(), b3 = zero();
  const end4 = <usize>(D & ~3) << 2, end = <usize>D << 2;
  let o: usize = 0;
  for (; o < end4; o += 16) {
    const x = v128.load(q + o), y = v128.load(qb + o);
    let kv = v128.load(k0 + o);
    a0 = madd(x, kv, a0);
    b0 = madd(y, kv, b0);
    kv = v128.load(k1 + o);
    a1 = madd(x, kv, a1);
    b1 = madd(y, kv, b1);
    kv = v128.load(k2 + o);
    a2 = madd(x, kv, a2);
    b2 = madd(y, kv, b2);
    kv = v128.load(k3 + o);
    a3 = madd(x, kv, a3);
    b3 = madd(y, kv, b3);
  }
  store<f32>(out, (hsum(a0) + dotTail(q, k0, o, end)) * scale);
  store<f32>(out, (hsum(a1) + dotTail(q, k1, o, end)) * scale, 4);
  store<f32>(out, (hsum(a2) + dotTail(q, k2, o, end)) * scale, 8);
  store<f32>(out, (hsum(a3) + dotTail(q, k3, o, end)) * scale, 12);
  store<f32>(outb, (hsum(b0) + dotTail(qb, k0, o, end)) * scale);
  store<f32>(outb, (hsum(b1) + dotTail(qb, k1, o, end)) * scale, 4);
  store<f32>(outb, (hsum(b2) + dotTail(qb, k2, o, end)) * scale, 8);
  store<f32>(outb, (hsum(b3) + dotTail(qb, k3, o, end)) * scale, 12);
}

// One query against one key (the last n % 4 candidates).
@inline export function dot1(q: usize, k: usize, D: i32, scale: f32, out: usize): void {
  let a = zero();
  const end4 = <usize>(D & ~3) << 2;
  let o: usize = 0;
  for (; o < end4; o += 16) a = madd(v128.load(q + o), v128.load(k + o), a);
  store<f32>(out, (hsum(a) + dotTail(q, k, o, <usize>D << 2)) * scale);
}

// o = sum_j p[j] v[index[j]] for D <= 64: each block of 16 columns stays in four f32x4 registers
// for a whole walk over the candidates (at most four walks), then 4-column blocks, then columns.
@inline function weightedSumInRegisters(o: usize, p: usize, index: usize, n: i32, v: usize, posBytes: usize, D: i32): void {
  const end4 = <usize>(D & ~3) << 2;
  let c: usize = 0;
  for (; c + 64 <= end4; c += 64) {
    let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
    for (let j = 0; j < n; j++) {
      const w = v128.load32_splat(p + (<usize>j << 2));
      const vr = v + <usize>load<i32>(index + (<usize>j << 2)) * posBytes + c;
      a0 = madd(w, v128.load(vr), a0);
      a1 = madd(w, v128.load(vr, 16), a1);
      a2 = madd(w, v128.load(vr, 32), a2);
      a3 = madd(w, v128.load(vr, 48), a3);
    }
    v128.store(o + c, a0);
    v128.store(o + c, a1, 16);
    v128.store(o + c, a2, 32);
    v128.store(o + c, a3, 48);
  }
  for (; c < end4; c += 16) {
    let a = zero();
    for (let j = 0; j < n; j++) {
      a = madd(v128.load32_splat(p + (<usize>j << 2)), v128.load(v + <usize>load<i32>(index + (<usize>j << 2)) * posBytes + c), a);
    }
    v128.store(o + c, a);
  }
  for (const end = <usize>D << 2; c < end; c += 4) {
    let s: f32 = 0;
    for (let j = 0; j < n; j++) s += load<f32>(p + (<usize>j << 2)) * load<f32>(v + <usize>load<i32>(index + (<usize>j << 2)) * posBytes + c);
    store<f32>(o + c, s);
  }
}

// o += p[0] v0 + p[1] v1 + p[2] v2 + p[3] v3 over D columns, for D > 64 (too many columns for the
// registers): the output row stays in L1 and takes one load and store per four madds.
@inline export function addWeighted4(o: usize, p: usize, v0: usize, v1: usize, v2: usize, v3: usize, D: i32): void {
  const w0 = v128.load32_splat(p), w1 = v128.load32_splat(p, 4), w2 = v128.load32_splat(p, 8), w3 = v128.load32_splat(p, 12);
  const end4 = <usize>(D & ~3) << 2, end = <usize>D << 2;
  let c: usize = 0;
  for (; c < end4; c += 16) {
    let a = madd(w0, v128.load(v0 + c), v128.load(o + c));
    a = madd(w1, v128.load(v1 + c), a);
    a = madd(w2, v128.load(v2 + c), a);
    v128.store(o + c, madd(w3, v128.load(v3 + c), a));
  }
  if (c == end) return;
  axpyTail(o, load<f32>(p), v0, c, end);
  axpyTail(o, load<f32>(p, 4), v1, c, end);
  axpyTail(o, load<f32>(p, 8), v2, c, end);
  axpyTail(o, load<f32>(p, 12), v3, c, end);
}

// The same for two heads (output rows o, ob; weights p, pb): each V load feeds two madds.
@inline export function addWeighted2x4(o: usize, ob: usize, p: usize, pb: usize, v0: usize, v1: usize, v2: usize, v3: usize, D: i32): void {
  const w0 = v128.load32_splat(p), w1 = v128.load32_splat(p, 4), w2 = v128.load32_splat(p, 8), w3 = v128.load32_splat(p, 12);
  const x0 = v128.load32_splat(pb), x1 = v128.load32_splat(pb, 4), x2 = v128.load32_splat(pb, 8), x3 = v128.load32_splat(pb, 12);
  const end4 = <usize>(D & ~3) << 2;
  for (let c: usize = 0; c < end4; c += 16) {
    let vv = v128.load(v0 + c);
    let a = madd(w0, vv, v128.load(o + c));
    let b = madd(x0, vv, v128.load(ob + c));
    vv = v128.load(v1 + c);
    a = madd(w1, vv, a);
    b = madd(x1, vv, b);
    vv = v128.load(v2 + c);
    a = madd(w2, vv, a);
    b = madd(x2, vv, b);
    vv = v128.load(v3 + c);
    v128.store(o + c, madd(w3, vv, a));
    v128.store(ob + c, madd(x3, vv, b));
  }
  if (D & 3) {
    // Whole vectors are done; what remains of the row is the tail, which addWeighted4 sums alone.
    addWeighted4(o + end4, p, v0 + end4, v1 + end4, v2 + end4, v3 + end4, D & 3);
    addWeighted4(ob + end4, pb, v0 + end4, v1 + end4, v2 + end4, v3 + end4, D & 3);
  }
}

@inline export function addWeighted1(o: usize, p: usize, v0: usize, D: i32): void {
  const w = v128.load32_splat(p);
  const end4 = <usize>(D & ~3) << 2;
  let c: usize = 0;
  for (; c < end4; c += 16) v128.store(o + c, madd(w, v128.load(v0 + c), v128.load(o + c)));
  axpyTail(o, load<f32>(p), v0, c, <usize>D << 2);
}

// Reads a word of each of the four cache rows whose positions are at x. WebAssembly has no prefetch
// instruction; touching rows 16 candidates ahead starts their cache and TLB misses early (one KV
// head's rows lie kvHeads * D * 4 bytes apart, a 4 KiB page in Llama shapes, where hardware
// prefetchers stop), which took a fifth off decode. The caller stores the words: the loads stay.
@inline function touch4(base: usize, x: usize, posBytes: usize): i32 {
  const a = load<i32>(base + <usize>load<i32>(x) * posBytes) | load<i32>(base + <usize>load<i32>(x, 4) * posBytes);
  return a | load<i32>(base + <usize>load<i32>(x, 8) * posBytes) | load<i32>(base + <usize>load<i32>(x, 12) * posBytes);
}

// Rows r = t * heads + h in [begin, end). `positions` (i32 [count], ascending) lists the candidate
// positions, or is 0 for all of [0, length); with listStride > 0 it holds one such list per KV head,
// listStride words apart (a per-head selection; -1 padding falls below every window and is skipped). queryStart and window (0: none) come as f64 so that
// any integer the API admits compares exactly. `scratch` gives each thread attention_scratch_rows
// rows of `stride` words (stride >= the candidates, a multiple of 4).
export function attention_f32(
  q: usize, k: usize, v: usize, out: usize, positions: usize, count: i32, listStride: i32,
  heads: i32, kvHeads: i32, D: i32, length: i32, queryStart: f64, scale: f32, window: f64,
  scratch: usize, stride: i32, begin: i32, end: i32, thread: i32,
): void {
  const rowBytes = <usize>D << 2;
  const posBytes = <usize>kvHeads * rowBytes; // one cached position, all KV heads
  const group = heads / kvHeads;
  const scoreBytes = <usize>stride << 2;
  const index = scratch + <usize>thread * <usize>attention_scratch_rows(group) * scoreBytes;
  const scores = index + scoreBytes;
  let touched = 0; // see touch4
  for (let r = begin, g = 0; r < end; r += g) {
    // Heads r .. r + g - 1: one query row, one KV head.
    const h = r % heads;
    g = min(min(group - h % group, end - r), MAX_GROUP);
    const kh = k + <usize>(h / group) * rowBytes;
    const vh = v + <usize>(h / group) * rowBytes;
    // Query position qp sees s in [lo, hi): s <= qp, s < length, s > qp - window.
    const qp = queryStart + <f64>(r / heads);
    const hi = <i32>min(<f64>length, qp + 1);
    const lo = window > 0 ? <i32>min(<f64>length, max(0, qp - window + 1)) : 0;
    let n = 0;
    if (positions) {
      const list = positions + (<usize>(h / group) * <usize>listStride << 2);
      for (let i = 0; i < count; i++) {
        const s = load<i32>(list + (<usize>i << 2));
        if (s < lo || s >= hi) continue;
        store<i32>(index + (<usize>n << 2), s);
        n++;
      }
    } else {
      for (let s = lo; s < hi; s++) store<i32>(index + (<usize>(s - lo) << 2), s);
      n = max(0, hi - lo);
    }
    const q0 = q + <usize>r * rowBytes;
    const o0 = out + <usize>r * rowBytes;
    if (n == 0) {
      // Nothing visible: no distribution exists (as the reference, and softmax of an all -inf row).
      for (let c: usize = 0; c < <usize>g * rowBytes; c += 4) store<f32>(o0 + c, NaN);
      continue;
    }
    // Pass 1, four candidates at a time; the other heads find those four K rows in L1.
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const x = index + (<usize>j << 2);
      if (j + 20 <= n) touched |= touch4(kh, x + 64, posBytes);
      const k0 = kh + <usize>load<i32>(x) * posBytes, k1 = kh + <usize>load<i32>(x, 4) * posBytes;
      const k2 = kh + <usize>load<i32>(x, 8) * posBytes, k3 = kh + <usize>load<i32>(x, 12) * posBytes;
      let i = 0;
      for (; i + 2 <= g; i += 2) {
        const qi = q0 + <usize>i * rowBytes, si = scores + <usize>i * scoreBytes + (<usize>j << 2);
        dot2x4(qi, qi + rowBytes, k0, k1, k2, k3, D, scale, si, si + scoreBytes);
      }
      if (i < g) dot4(q0 + <usize>i * rowBytes, k0, k1, k2, k3, D, scale, scores + <usize>i * scoreBytes + (<usize>j << 2));
    }
    for (; j < n; j++) {
      const kj = kh + <usize>load<i32>(index + (<usize>j << 2)) * posBytes;
      for (let i = 0; i < g; i++) dot1(q0 + <usize>i * rowBytes, kj, D, scale, scores + <usize>i * scoreBytes + (<usize>j << 2));
    }
    // Pass 2: probabilities. exp(score - max) cannot overflow, whatever the scores' magnitude.
    for (let i = 0; i < g; i++) {
      const p = scores + <usize>i * scoreBytes;
      const inv = f32x4.splat(<f32>(1 / expShiftedSum(p, p, n, rowMax(p, n))));
      // Whole vectors past n: the scratch row is padded to a multiple of 4 and nothing reads the pad.
      for (let c: usize = 0; c < (<usize>n << 2); c += 16) v128.store(p + c, f32x4.mul(v128.load(p + c), inv));
    }
    // Pass 3: the weighted sums of V rows.
    if (D <= 64) {
      for (let i = 0; i < g; i++) weightedSumInRegisters(o0 + <usize>i * rowBytes, scores + <usize>i * scoreBytes, index, n, vh, posBytes, D);
      continue;
    }
    memory.fill(o0, 0, <usize>g * rowBytes);
    for (j = 0; j + 4 <= n; j += 4) {
      const x = index + (<usize>j << 2);
      if (j + 20 <= n) touched |= touch4(vh, x + 64, posBytes);
      const v0 = vh + <usize>load<i32>(x) * posBytes, v1 = vh + <usize>load<i32>(x, 4) * posBytes;
      const v2 = vh + <usize>load<i32>(x, 8) * posBytes, v3 = vh + <usize>load<i32>(x, 12) * posBytes;
      let i = 0;
      for (; i + 2 <= g; i += 2) {
        const oi = o0 + <usize>i * rowBytes, pi = scores + <usize>i * scoreBytes + (<usize>j << 2);
        addWeighted2x4(oi, oi + rowBytes, pi, pi + scoreBytes, v0, v1, v2, v3, D);
      }
      if (i < g) addWeighted4(o0 + <usize>i * rowBytes, scores + <usize>i * scoreBytes + (<usize>j << 2), v0, v1, v2, v3, D);
    }
    for (; j < n; j++) {
      const vj = vh + <usize>load<i32>(index + (<usize>j << 2)) * posBytes;
      for (let i = 0; i < g; i++) addWeighted1(o0 + <usize>i * rowBytes, scores + <usize>i * scoreBytes + (<usize>j << 2), vj, D);
    }
  }
  store<i32>(index, touched);
}

// Scratch rows of `stride` words each thread needs, for `group` query heads per KV head: the
// visible positions, then a row of scores per head taken together.
export function attention_scratch_rows(group: i32): i32 {
  return min(group, MAX_GROUP) + 1;
}
