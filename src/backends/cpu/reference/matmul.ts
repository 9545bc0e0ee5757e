/**
 * Matrix products, the plain way: llm.c's `matmul_forward_naive`, kept as the algorithmic
 * reference the WebAssembly kernels are tested against. Accumulates in f64 so that the
 * reference's own rounding is negligible next to the kernels'.
 */
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../../../core/shape.js';

/**
 * C[M, N] = op(A) op(B) for one matrix pair, where op(A) is A [M, K] or A^T with A stored
 * [K, M], and op(B) is B [K, N] or B^T with B stored [N, K].
 */
export function gemmReference(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  c: Float32Array,
  cOffset: number,
  M: number,
  N: number,
  K: number,
  transposeA: boolean,
  transposeB: boolean,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const av = transposeA ? a[aOffset + k * M + i] : a[aOffset + i * K + k];
        const bv = transposeB ? b[bOffset + j * K + k] : b[bOffset + k * N + j];
        acc += av * bv;
      }
      c[cOffset + i * N + j] = acc;
    }
  }
}

/** Batched matmul with broadcast batch dims; returns the output shape's batch loop offsets. */
export function matmulReference(
  a: Float32Array,
  aShape: Shape,
  b: Float32Array,
  bShape: Shape,
  out: Float32Array,
  batchShape: Shape,
  M: number,
  N: number,
  K: number,
  transposeA: boolean,
  transposeB: boolean,
): void {
  for (const [ia, ib, io] of batchOffsets(aShape, bShape, batchShape, M * K, K * N, M * N)) {
    gemmReference(a, ia, b, ib, out, io, M, N, K, transposeA, transposeB);
  }
}

/** Element offsets of each (A, B, C) matrix triple over the broadcast batch dims. */
export function* batchOffsets(
  aShape: Shape,
  bShape: Shape,
  batchShape: Shape,
  aMatrix: number,
  bMatrix: number,
  cMatrix: number,
): Generator<[number, number, number]> {
  const batches = sizeOf(batchShape);
  const aStrides = broadcastStrides(aShape.slice(0, -2), batchShape);
  const bStrides = broadcastStrides(bShape.slice(0, -2), batchShape);
  const outStrides = stridesOf(batchShape);
  for (let n = 0; n < batches; n++) {
    let ia = 0;
    let ib = 0;
    let rem = n;
    for (let d = 0; d < batchShape.length; d++) {
      const idx = Math.floor(rem / outStrides[d]);
      rem -= idx * outStrides[d];
      ia += idx * aStrides[d];
      ib += idx * bStrides[d];
    }
    yield [ia * aMatrix, ib * bMatrix, n * cMatrix];
  }
}
