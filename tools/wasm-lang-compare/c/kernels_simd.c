// C side (hand-written wasm_simd128.h intrinsics) of the wasm-lang-compare measurement.
// Must stay algorithm-for-algorithm and unroll-for-unroll identical to
// ../as/kernels.ts. Freestanding: no libc, memory imported from env.memory.
// No FMA (relaxed SIMD is not assumed): every multiply-accumulate is mul then add.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name), visibility("default")))

static inline float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// 1. Dense GEMV y = W x, W row-major [rows x cols] f32.
// 4 rows at a time; rows % 4 == 0 and cols % 4 == 0 (the harness checks).
EXPORT(gemv)
void gemv(const float *W, const float *x, float *y, int rows, int cols) {
  for (int r = 0; r < rows; r += 4) {
    const float *w0 = W + (uintptr_t)r * (uintptr_t)cols;
    const float *w1 = w0 + cols;
    const float *w2 = w1 + cols;
    const float *w3 = w2 + cols;
    v128_t a0 = wasm_f32x4_splat(0.0f);
    v128_t a1 = wasm_f32x4_splat(0.0f);
    v128_t a2 = wasm_f32x4_splat(0.0f);
    v128_t a3 = wasm_f32x4_splat(0.0f);
    for (int c = 0; c < cols; c += 4) {
      v128_t xv = wasm_v128_load(x + c);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(w0 + c), xv));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(w1 + c), xv));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(w2 + c), xv));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(w3 + c), xv));
    }
    y[r + 0] = hsum(a0);
    y[r + 1] = hsum(a1);
    y[r + 2] = hsum(a2);
    y[r + 3] = hsum(a3);
  }
}

// 2. GEMM micro-kernel C[M,N] += A[M,K] B[K,N], C row-major (ldc = N).
// A packed as M/4 panels, each [K][4]; B packed as N/8 panels, each [K][8].
// 4x8 register tile = 8 f32x4 accumulators. M % 4 == 0, N % 8 == 0.
EXPORT(gemm_4x8)
void gemm_4x8(const float *A, const float *B, float *C, int M, int N, int K) {
  for (int np = 0; np < N; np += 8) {
    const float *bp = B + (uintptr_t)(np >> 3) * (uintptr_t)K * 8;
    for (int mp = 0; mp < M; mp += 4) {
      const float *ap = A + (uintptr_t)(mp >> 2) * (uintptr_t)K * 4;
      float *c0 = C + (uintptr_t)mp * (uintptr_t)N + np;
      float *c1 = c0 + N;
      float *c2 = c1 + N;
      float *c3 = c2 + N;
      v128_t c00 = wasm_v128_load(c0), c01 = wasm_v128_load(c0 + 4);
      v128_t c10 = wasm_v128_load(c1), c11 = wasm_v128_load(c1 + 4);
      v128_t c20 = wasm_v128_load(c2), c21 = wasm_v128_load(c2 + 4);
      v128_t c30 = wasm_v128_load(c3), c31 = wasm_v128_load(c3 + 4);
      const float *pa = ap;
      const float *pb = bp;
      for (int k = 0; k < K; k++) {
        v128_t b0 = wasm_v128_load(pb);
        v128_t b1 = wasm_v128_load(pb + 4);
        v128_t a0 = wasm_v128_load32_splat(pa + 0);
        v128_t a1 = wasm_v128_load32_splat(pa + 1);
        v128_t a2 = wasm_v128_load32_splat(pa + 2);
        v128_t a3 = wasm_v128_load32_splat(pa + 3);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
        c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
        c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
        c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
        c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
        pa += 4;
        pb += 8;
      }
      wasm_v128_store(c0, c00); wasm_v128_store(c0 + 4, c01);
      wasm_v128_store(c1, c10); wasm_v128_store(c1 + 4, c11);
      wasm_v128_store(c2, c20); wasm_v128_store(c2 + 4, c21);
      wasm_v128_store(c3, c30); wasm_v128_store(c3 + 4, c31);
    }
  }
}

// 3. CSR SpMV y = A x. rowPtr: u32[rows + 1], colIdx: u16[nnz], vals: f32[nnz].
// x gathered with scalar loads into f32x4 lanes, 4 nonzeros per vector,
// main loop takes 8 nonzeros into 2 accumulators, then one 4-chunk, then a scalar tail.
EXPORT(spmv_csr)
void spmv_csr(const uint32_t *rowPtr, const uint16_t *colIdx, const float *vals,
              const float *x, float *y, int rows) {
  for (int r = 0; r < rows; r++) {
    uint32_t j = rowPtr[r];
    const uint32_t end = rowPtr[r + 1];
    v128_t acc0 = wasm_f32x4_splat(0.0f);
    v128_t acc1 = wasm_f32x4_splat(0.0f);
    while (j + 8 <= end) {
      const uint16_t *ci = colIdx + j;
      const float *vi = vals + j;
      v128_t g0 = wasm_v128_load32_zero(x + ci[0]);
      g0 = wasm_v128_load32_lane(x + ci[1], g0, 1);
      g0 = wasm_v128_load32_lane(x + ci[2], g0, 2);
      g0 = wasm_v128_load32_lane(x + ci[3], g0, 3);
      v128_t g1 = wasm_v128_load32_zero(x + ci[4]);
      g1 = wasm_v128_load32_lane(x + ci[5], g1, 1);
      g1 = wasm_v128_load32_lane(x + ci[6], g1, 2);
      g1 = wasm_v128_load32_lane(x + ci[7], g1, 3);
      acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(vi), g0));
      acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(vi + 4), g1));
      j += 8;
    }
    if (j + 4 <= end) {
      const uint16_t *ci = colIdx + j;
      const float *vi = vals + j;
      v128_t g0 = wasm_v128_load32_zero(x + ci[0]);
      g0 = wasm_v128_load32_lane(x + ci[1], g0, 1);
      g0 = wasm_v128_load32_lane(x + ci[2], g0, 2);
      g0 = wasm_v128_load32_lane(x + ci[3], g0, 3);
      acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(vi), g0));
      j += 4;
    }
    float s = hsum(wasm_f32x4_add(acc0, acc1));
    while (j < end) {
      s += vals[j] * x[colIdx[j]];
      j++;
    }
    y[r] = s;
  }
}
