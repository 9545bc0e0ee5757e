// Plain scalar C, no intrinsics: what clang's auto-vectorizer makes of the same
// three kernels (same data layouts and exported signatures as kernels_simd.c).
// Built twice by build.sh: -O3 -msimd128 (strict IEEE, the reference build) and,
// for information only, additionally -ffast-math (lets the vectorizer reassociate
// the float reductions, which strict IEEE forbids).
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name), visibility("default")))

// 1. Dense GEMV, one row at a time, one running sum.
EXPORT(gemv)
void gemv(const float *W, const float *x, float *y, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    const float *w = W + (uintptr_t)r * (uintptr_t)cols;
    float s = 0.0f;
    for (int c = 0; c < cols; c++) s += w[c] * x[c];
    y[r] = s;
  }
}

// 2. GEMM on the same packed panels, 4x8 tile of scalar accumulators.
EXPORT(gemm_4x8)
void gemm_4x8(const float *A, const float *B, float *C, int M, int N, int K) {
  for (int np = 0; np < N; np += 8) {
    const float *bp = B + (uintptr_t)(np >> 3) * (uintptr_t)K * 8;
    for (int mp = 0; mp < M; mp += 4) {
      const float *ap = A + (uintptr_t)(mp >> 2) * (uintptr_t)K * 4;
      float acc[4][8];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) acc[i][j] = C[(uintptr_t)(mp + i) * N + np + j];
      for (int k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 8; j++) acc[i][j] += ap[k * 4 + i] * bp[k * 8 + j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) C[(uintptr_t)(mp + i) * N + np + j] = acc[i][j];
    }
  }
}

// 3. CSR SpMV, textbook loop.
EXPORT(spmv_csr)
void spmv_csr(const uint32_t *rowPtr, const uint16_t *colIdx, const float *vals,
              const float *x, float *y, int rows) {
  for (int r = 0; r < rows; r++) {
    float s = 0.0f;
    for (uint32_t j = rowPtr[r]; j < rowPtr[r + 1]; j++) s += vals[j] * x[colIdx[j]];
    y[r] = s;
  }
}
