// Matrix-vector products for few activation rows (decode, batch 1..8), where packing B would cost
// as much as the product itself. Both stream the matrix once; they are memory-bound.
// References: backends/cpu/reference/matmul.ts (gemmReference with M small).
import { hsum, madd, zero } from './simd';

// Dot products of 4 rows of W (stride K floats) with one vector x, k in [0, K).
@inline function dot4x1(w: usize, x: usize, K: i32, rowBytes: usize, y: usize, yStrideBytes: usize): void {
  let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
  let b0 = zero(), b1 = zero(), b2 = zero(), b3 = zero();
  const w1 = w + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
  const k8 = K & ~7;
  let o: usize = 0;
  const end8 = <usize>k8 << 2;
  for (; o < end8; o += 32) {
    const xa = v128.load(x + o);
    const xb = v128.load(x + o, 16);
    a0 = madd(v128.load(w + o), xa, a0);
    b0 = madd(v128.load(w + o, 16), xb, b0);
    a1 = madd(v128.load(w1 + o), xa, a1);
    b1 = madd(v128.load(w1 + o, 16), xb, b1);
    a2 = madd(v128.load(w2 + o), xa, a2);
    b2 = madd(v128.load(w2 + o, 16), xb, b2);
    a3 = madd(v128.load(w3 + o), xa, a3);
    b3 = madd(v128.load(w3 + o, 16), xb, b3);
  }
  let s0 = hsum(f32x4.add(a0, b0)), s1 = hsum(f32x4.add(a1, b1));
  let s2 = hsum(f32x4.add(a2, b2)), s3 = hsum(f32x4.add(a3, b3));
  for (let k = k8; k < K; k++) {
    const kb = <usize>k << 2;
    const xv = load<f32>(x + kb);
    s0 += load<f32>(w + kb) * xv;
    s1 += load<f32>(w1 + kb) * xv;
    s2 += load<f32>(w2 + kb) * xv;
    s3 += load<f32>(w3 + kb) * xv;
  }
  store<f32>(y, s0);
  store<f32>(y + yStrideBytes, s1);
  store<f32>(y + 2 * yStrideBytes, s2);
  store<f32>(y + 3 * yStrideBytes, s3);
}

// Dot products of 4 rows of W with two vectors x0, x1: 8 accumulators, W loaded once for both.
@inline function dot4x2(w: usize, x0: usize, x1: usize, K: i32, rowBytes: usize, y0: usize, y1: usize, yStrideBytes: usize): void {
  let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
  let b0 = zero(), b1 = zero(), b2 = zero(), b3 = zero();
  const w1 = w + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
  const k4 = K & ~3;
  const end4 = <usize>k4 << 2;
  for (let o: usize = 0; o < end4; o += 16) {
    const xa = v128.load(x0 + o);
    const xb = v128.load(x1 + o);
    let wv = v128.load(w + o);
    a0 = madd(wv, xa, a0);
    b0 = madd(wv, xb, b0);
    wv = v128.load(w1 + o);
    a1 = madd(wv, xa, a1);
    b1 = madd(wv, xb, b1);
    wv = v128.load(w2 + o);
    a2 = madd(wv, xa, a2);
    b2 = madd(wv, xb, b2);
    wv = v128.load(w3 + o);
    a3 = madd(wv, xa, a3);
    b3 = madd(wv, xb, b3);
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  let t0 = hsum(b0), t1 = hsum(b1), t2 = hsum(b2), t3 = hsum(b3);
  for (let k = k4; k < K; k++) {
    const kb = <usize>k << 2;
    const xa = load<f32>(x0 + kb);
    const xb = load<f32>(x1 + kb);
    let wv = load<f32>(w + kb);
    s0 += wv * xa;
    t0 += wv * xb;
    wv = load<f32>(w1 + kb);
    s1 += wv * xa;
    t1 += wv * xb;
    wv = load<f32>(w2 + kb);
    s2 += wv * xa;
    t2 += wv * xb;
    wv = load<f32>(w3 + kb);
    s3 += wv * xa;
    t3 += wv * xb;
  }
  store<f32>(y0, s0);
  store<f32>(y0 + yStrideBytes, s1);
  store<f32>(y0 + 2 * yStrideBytes, s2);
  store<f32>(y0 + 3 * yStrideBytes, s3);
  store<f32>(y1, t0);
  store<f32>(y1 + yStrideBytes, t1);
  store<f32>(y1 + 2 * yStrideBytes, t2);
  store<f32>(y1 + 3 * yStrideBytes, t3);
}

@inline function dot1(w: usize, x: usize, K: i32): f32 {
  let a = zero(), b = zero();
  const k8 = K & ~7;
  const end8 = <usize>k8 << 2;
  for (let o: usize = 0; o < end8; o += 32) {
    a = madd(v128.load(w + o), v128.load(x + o), a);
    b = madd(v128.load(w + o, 16), v128.load(x + o, 16), b);
  }
  let s = hsum(f32x4.add(a, b));
  for (let k = k8; k < K; k++) s += load<f32>(w + (<usize>k << 2)) * load<f32>(x + (<usize>k << 2));
  return s;
}

// Y[M, N] = X[M, K] * W[N, K]^T for rows n in [n0, n1) of W.
// The four rows of a step are a quarter of the range apart (r, r + q, r + 2q, r + 3q), not
// adjacent. Four adjacent short rows (K = 768: 3 KiB) run four read streams through the same
// 4 KiB pages, and the hardware prefetchers, which follow one stream per page, then fetch less
// ahead; streams a quarter apart each have pages of their own.
// Measured (weights from DRAM, 2 threads, alternating runs): 4096x768 651 -> 547 us, 768x768
// 137 -> 124 us; 4096x4096 (16 KiB rows) unchanged. The sparse decode kernels (csr.ts, nm.ts)
// group their rows the same way, for the same reason, and gain more.
export function gemvRows(x: usize, w: usize, y: usize, M: i32, N: i32, K: i32, n0: i32, n1: i32): void {
  const rowBytes = <usize>K << 2;
  const yRowBytes = <usize>N << 2;
  const quarter = (n1 - n0) >> 2;
  const wStride = rowBytes * <usize>quarter;
  const yStride = <usize>quarter << 2;
  for (let i = 0; i < quarter; i++) {
    const r = n0 + i;
    const wr = w + <usize>r * rowBytes;
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const y0 = y + <usize>m * yRowBytes + (<usize>r << 2);
      dot4x2(wr, x + <usize>m * rowBytes, x + <usize>(m + 1) * rowBytes, K, wStride, y0, y0 + yRowBytes, yStride);
    }
    if (m < M) dot4x1(wr, x + <usize>m * rowBytes, K, wStride, y + <usize>m * yRowBytes + (<usize>r << 2), yStride);
  }
  let n = n0 + (quarter << 2);
  for (; n < n1; n++) {
    for (let m = 0; m < M; m++) {
      store<f32>(y + <usize>m * yRowBytes + (<usize>n << 2), dot1(w + <usize>n * rowBytes, x + <usize>m * rowBytes, K));
    }
  }
}

// Batched Y = X W^T (W stored [N, K], the Linear layout) for small M. Byte strides per batch
// item (0 broadcasts). With byBatch, [begin, end) are batch items; otherwise rows of W.
export function gemv_t_f32(
  x: usize, w: usize, y: usize, M: i32, N: i32, K: i32,
  batch: i32, strideX: usize, strideW: usize, strideY: usize, byBatch: i32,
  begin: i32, end: i32,
): void {
  if (byBatch) {
    for (let t = begin; t < end; t++) gemvRows(x + <usize>t * strideX, w + <usize>t * strideW, y + <usize>t * strideY, M, N, K, 0, N);
  } else {
    for (let t = 0; t < batch; t++) gemvRows(x + <usize>t * strideX, w + <usize>t * strideW, y + <usize>t * strideY, M, N, K, begin, end);
  }
}

// y[n] = sum_k x[k] B[k, n] for n in [n0, n1): B stored [K, N], SIMD across n.
function gemvColumns(x: usize, b: usize, y: usize, N: i32, K: i32, n0: i32, n1: i32): void {
  const rowBytes = <usize>N << 2;
  let n = n0;
  for (; n + 16 <= n1; n += 16) {
    let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
    let src = b + (<usize>n << 2);
    for (let k = 0; k < K; k++) {
      const s = v128.load32_splat(x + (<usize>k << 2));
      a0 = madd(s, v128.load(src), a0);
      a1 = madd(s, v128.load(src, 16), a1);
      a2 = madd(s, v128.load(src, 32), a2);
      a3 = madd(s, v128.load(src, 48), a3);
      src += rowBytes;
    }
    const d = y + (<usize>n << 2);
    v128.store(d, a0);
    v128.store(d, a1, 16);
    v128.store(d, a2, 32);
    v128.store(d, a3, 48);
  }
  for (; n + 4 <= n1; n += 4) {
    let a0 = zero();
    let src = b + (<usize>n << 2);
    for (let k = 0; k < K; k++) {
      a0 = madd(v128.load32_splat(x + (<usize>k << 2)), v128.load(src), a0);
      src += rowBytes;
    }
    v128.store(y + (<usize>n << 2), a0);
  }
  for (; n < n1; n++) {
    let s: f32 = 0;
    for (let k = 0; k < K; k++) s += load<f32>(x + (<usize>k << 2)) * load<f32>(b + ((<usize>k * <usize>N + <usize>n) << 2));
    store<f32>(y + (<usize>n << 2), s);
  }
}

// Batched y = x B for one row x per batch item (M = 1), B stored [K, N].
export function gemv_n_f32(
  x: usize, b: usize, y: usize, N: i32, K: i32,
  batch: i32, strideX: usize, strideB: usize, strideY: usize, byBatch: i32,
  begin: i32, end: i32,
): void {
  if (byBatch) {
    for (let t = begin; t < end; t++) gemvColumns(x + <usize>t * strideX, b + <usize>t * strideB, y + <usize>t * strideY, N, K, 0, N);
  } else {
    for (let t = 0; t < batch; t++) gemvColumns(x + <usize>t * strideX, b + <usize>t * strideB, y + <usize>t * strideY, N, K, begin, end);
  }
}
