// AssemblyScript side of the wasm-lang-compare measurement.
// Must stay algorithm-for-algorithm and unroll-for-unroll identical to
// ../c/kernels_simd.c. All pointers are byte offsets into the imported memory.
// No FMA (relaxed SIMD is not assumed): every multiply-accumulate is mul then add.

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
         (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// 1. Dense GEMV y = W x, W row-major [rows x cols] f32.
// 4 rows at a time; rows % 4 == 0 and cols % 4 == 0 (the harness checks).
export function gemv(W: usize, x: usize, y: usize, rows: i32, cols: i32): void {
  const rowBytes: usize = <usize>cols << 2;
  for (let r = 0; r < rows; r += 4) {
    const w0 = W + <usize>r * rowBytes;
    const w1 = w0 + rowBytes;
    const w2 = w1 + rowBytes;
    const w3 = w2 + rowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (let c = 0; c < cols; c += 4) {
      const off: usize = <usize>c << 2;
      const xv = v128.load(x + off);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + off), xv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + off), xv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + off), xv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + off), xv));
    }
    const yp = y + (<usize>r << 2);
    store<f32>(yp, hsum(a0), 0);
    store<f32>(yp, hsum(a1), 4);
    store<f32>(yp, hsum(a2), 8);
    store<f32>(yp, hsum(a3), 12);
  }
}

// 2. GEMM micro-kernel C[M,N] += A[M,K] B[K,N], C row-major (ldc = N).
// A packed as M/4 panels, each [K][4]; B packed as N/8 panels, each [K][8].
// 4x8 register tile = 8 f32x4 accumulators. M % 4 == 0, N % 8 == 0.
export function gemm_4x8(A: usize, B: usize, C: usize, M: i32, N: i32, K: i32): void {
  const ldc: usize = <usize>N << 2;
  const aPanel: usize = <usize>K << 4; // K * 4 floats * 4 bytes
  const bPanel: usize = <usize>K << 5; // K * 8 floats * 4 bytes
  for (let np = 0; np < N; np += 8) {
    const bp = B + (<usize>np >> 3) * bPanel;
    for (let mp = 0; mp < M; mp += 4) {
      const ap = A + (<usize>mp >> 2) * aPanel;
      const c0 = C + <usize>mp * ldc + (<usize>np << 2);
      const c1 = c0 + ldc;
      const c2 = c1 + ldc;
      const c3 = c2 + ldc;
      let c00 = v128.load(c0, 0), c01 = v128.load(c0, 16);
      let c10 = v128.load(c1, 0), c11 = v128.load(c1, 16);
      let c20 = v128.load(c2, 0), c21 = v128.load(c2, 16);
      let c30 = v128.load(c3, 0), c31 = v128.load(c3, 16);
      let pa = ap;
      let pb = bp;
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(pb, 0);
        const b1 = v128.load(pb, 16);
        const a0 = v128.load32_splat(pa, 0);
        const a1 = v128.load32_splat(pa, 4);
        const a2 = v128.load32_splat(pa, 8);
        const a3 = v128.load32_splat(pa, 12);
        c00 = f32x4.add(c00, f32x4.mul(a0, b0));
        c01 = f32x4.add(c01, f32x4.mul(a0, b1));
        c10 = f32x4.add(c10, f32x4.mul(a1, b0));
        c11 = f32x4.add(c11, f32x4.mul(a1, b1));
        c20 = f32x4.add(c20, f32x4.mul(a2, b0));
        c21 = f32x4.add(c21, f32x4.mul(a2, b1));
        c30 = f32x4.add(c30, f32x4.mul(a3, b0));
        c31 = f32x4.add(c31, f32x4.mul(a3, b1));
        pa += 16;
        pb += 32;
      }
      v128.store(c0, c00, 0); v128.store(c0, c01, 16);
      v128.store(c1, c10, 0); v128.store(c1, c11, 16);
      v128.store(c2, c20, 0); v128.store(c2, c21, 16);
      v128.store(c3, c30, 0); v128.store(c3, c31, 16);
    }
  }
}

// 3. CSR SpMV y = A x. rowPtr: u32[rows + 1], colIdx: u16[nnz], vals: f32[nnz].
// x gathered with scalar loads into f32x4 lanes, 4 nonzeros per vector,
// main loop takes 8 nonzeros into 2 accumulators, then one 4-chunk, then a scalar tail.
export function spmv_csr(rowPtr: usize, colIdx: usize, vals: usize, x: usize, y: usize, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    const rp = rowPtr + (<usize>r << 2);
    let j: u32 = load<u32>(rp, 0);
    const end: u32 = load<u32>(rp, 4);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    while (j + 8 <= end) {
      const ci = colIdx + (<usize>j << 1);
      const vi = vals + (<usize>j << 2);
      let g0 = v128.load32_zero(x + (<usize>load<u16>(ci, 0) << 2));
      g0 = v128.load32_lane(x + (<usize>load<u16>(ci, 2) << 2), g0, 1);
      g0 = v128.load32_lane(x + (<usize>load<u16>(ci, 4) << 2), g0, 2);
      g0 = v128.load32_lane(x + (<usize>load<u16>(ci, 6) << 2), g0, 3);
      let g1 = v128.load32_zero(x + (<usize>load<u16>(ci, 8) << 2));
      g1 = v128.load32_lane(x + (<usize>load<u16>(ci, 10) << 2), g1, 1);
      g1 = v128.load32_lane(x + (<usize>load<u16>(ci, 12) << 2), g1, 2);
      g1 = v128.load32_lane(x + (<usize>load<u16>(ci, 14) << 2), g1, 3);
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(vi, 0), g0));
      acc1 = f32x4.add(acc1, f32x4.mul(v128.load(vi, 16), g1));
      j += 8;
    }
    if (j + 4 <= end) {
      const ci = colIdx + (<usize>j << 1);
      const vi = vals + (<usize>j << 2);
      let g0 = v128.load32_zero(x + (<usize>load<u16>(ci, 0) << 2));
      g0 = v128.load32_lane(x + (<usize>load<u16>(ci, 2) << 2), g0, 1);
      g0 = v128.load32_lane(x + (<usize>load<u16>(ci, 4) << 2), g0, 2);
      g0 = v128.load32_lane(x + (<usize>load<u16>(ci, 6) << 2), g0, 3);
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(vi, 0), g0));
      j += 4;
    }
    let s: f32 = hsum(f32x4.add(acc0, acc1));
    while (j < end) {
      s += load<f32>(vals + (<usize>j << 2)) * load<f32>(x + (<usize>load<u16>(colIdx + (<usize>j << 1)) << 2));
      j++;
    }
    store<f32>(y + (<usize>r << 2), s);
  }
}
