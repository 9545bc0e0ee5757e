// Dense GEMM, C[M, N] = op(A)[M, K] * op(B)[K, N], blocked and packed in the manner of BLIS
// (Van Zee & van de Geijn 2015): B is packed into k-major panels of NR columns, A into k-major
// panels of MR rows, and a 4x8 register tile (8 f32x4 accumulators) walks them. The plain
// reference is backends/cpu/reference/matmul.ts (gemmReference).
//
// op(A) is A [M, K], or A^T with A stored [K, M]; op(B) is B [K, N], or B^T with B stored [N, K]
// (the layout of a Linear weight). Pointers are byte offsets into the shared memory.
import { madd, zero } from './simd';

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256; // a B micro-panel (KC x NR) is 8 KiB: stays in L1 while A streams by
const MC: i32 = 128; // packed A block: 128 KiB, in L2
const NC: i32 = 512; // packed B block: 512 KiB, in L2

/** Scratch bytes one thread needs: packed A, packed B and an edge tile. */
export function gemm_scratch_bytes(): i32 {
  return (MC * KC + NC * KC + MR * NR) * 4;
}

// Packs rows [i0, i0 + mc) x cols [k0, k0 + kc) of op(A) into panels of MR rows, k-major:
// panel p holds op(A)[i0 + p*MR + r, k0 + k] at (p*kc + k)*MR + r. Rows past M are zero.
function packA(ap: usize, a: usize, M: i32, K: i32, transA: bool, i0: i32, mc: i32, k0: i32, kc: i32): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const dst = ap + ((<usize>ip * <usize>kc) << 2);
    const rows = min(MR, mc - ip);
    if (transA) {
      // A is stored [K, M]: the MR rows at one k are contiguous.
      for (let k = 0; k < kc; k++) {
        const src = a + ((<usize>(k0 + k) * <usize>M + <usize>(i0 + ip)) << 2);
        const d = dst + ((<usize>k * MR) << 2);
        if (rows == MR) v128.store(d, v128.load(src));
        else for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
      }
    } else {
      for (let r = 0; r < MR; r++) {
        const d = dst + (<usize>r << 2);
        if (r < rows) {
          const src = a + ((<usize>(i0 + ip + r) * <usize>K + <usize>k0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(d + ((<usize>k * MR) << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(d + ((<usize>k * MR) << 2), 0);
        }
      }
    }
  }
}

// Packs op(B) rows [k0, k0 + kc) x cols [j0, j0 + nc) into panels of NR columns, k-major:
// panel q holds op(B)[k0 + k, j0 + q*NR + c] at (q*kc + k)*NR + c. Columns past N are zero.
function packB(bp: usize, b: usize, N: i32, K: i32, transB: bool, j0: i32, nc: i32, k0: i32, kc: i32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const dst = bp + ((<usize>jp * <usize>kc) << 2);
    const cols = min(NR, nc - jp);
    if (!transB) {
      // B is stored [K, N]: the NR columns at one k are contiguous.
      for (let k = 0; k < kc; k++) {
        const src = b + ((<usize>(k0 + k) * <usize>N + <usize>(j0 + jp)) << 2);
        const d = dst + ((<usize>k * NR) << 2);
        if (cols == NR) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
        }
      }
    } else if (cols == NR) {
      // B is stored [N, K]: each column of op(B) is a contiguous row of B. Transpose 4x4 blocks.
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        for (let h = 0; h < 2; h++) {
          const src = b + ((<usize>(j0 + jp + h * 4) * <usize>K + <usize>(k0 + k)) << 2);
          const rowBytes = <usize>K << 2;
          const r0 = v128.load(src);
          const r1 = v128.load(src + rowBytes);
          const r2 = v128.load(src + 2 * rowBytes);
          const r3 = v128.load(src + 3 * rowBytes);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const d = dst + ((<usize>k * NR + <usize>(h * 4)) << 2);
          v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
          v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), NR * 4);
          v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), NR * 8);
          v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), NR * 12);
        }
      }
      for (; k < kc; k++) {
        for (let c = 0; c < NR; c++) {
          store<f32>(dst + ((<usize>k * NR + <usize>c) << 2), load<f32>(b + ((<usize>(j0 + jp + c) * <usize>K + <usize>(k0 + k)) << 2)));
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let c = 0; c < NR; c++) {
          const v: f32 = c < cols ? load<f32>(b + ((<usize>(j0 + jp + c) * <usize>K + <usize>(k0 + k)) << 2)) : 0;
          store<f32>(dst + ((<usize>k * NR + <usize>c) << 2), v);
        }
      }
    }
  }
}

// The 4x8 register tile: C[0:4, 0:8] (+)= Ap[kc][4]^T * Bp[kc][8]. Full tiles go straight to C;
// edge tiles go through `edge` and only their valid part is written.
@inline function microTile(
  kc: i32, ap: usize, bp: usize, c: usize, ldcBytes: usize, rows: i32, cols: i32, accumulate: bool, edge: usize,
): void {
  let c00 = zero(), c01 = zero(), c10 = zero(), c11 = zero();
  let c20 = zero(), c21 = zero(), c30 = zero(), c31 = zero();
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  const full = rows == MR && cols == NR;
  const out = full ? c : edge;
  const ld: usize = full ? ldcBytes : NR * 4;
  if (full && accumulate) {
    c00 = f32x4.add(c00, v128.load(out));
    c01 = f32x4.add(c01, v128.load(out, 16));
    c10 = f32x4.add(c10, v128.load(out + ld));
    c11 = f32x4.add(c11, v128.load(out + ld, 16));
    c20 = f32x4.add(c20, v128.load(out + 2 * ld));
    c21 = f32x4.add(c21, v128.load(out + 2 * ld, 16));
    c30 = f32x4.add(c30, v128.load(out + 3 * ld));
    c31 = f32x4.add(c31, v128.load(out + 3 * ld, 16));
  }
  v128.store(out, c00);
  v128.store(out, c01, 16);
  v128.store(out + ld, c10);
  v128.store(out + ld, c11, 16);
  v128.store(out + 2 * ld, c20);
  v128.store(out + 2 * ld, c21, 16);
  v128.store(out + 3 * ld, c30);
  v128.store(out + 3 * ld, c31, 16);
  if (!full) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const dst = c + <usize>r * ldcBytes + (<usize>j << 2);
        const v = load<f32>(edge + ((<usize>(r * NR + j)) << 2));
        store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
      }
    }
  }
}

// One matrix, columns [n0, n1) of C.
function gemmColumns(
  a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, transA: bool, transB: bool, n0: i32, n1: i32, scratch: usize,
): void {
  const ap = scratch;
  const bp = ap + ((<usize>(MC * KC)) << 2);
  const edge = bp + ((<usize>(NC * KC)) << 2);
  const ldcBytes = <usize>N << 2;
  if (K == 0) {
    for (let i = 0; i < M; i++) memory.fill(c + ((<usize>i * <usize>N + <usize>n0) << 2), 0, (<usize>(n1 - n0)) << 2);
    return;
  }
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(bp, b, N, K, transB, jc, nc, pc, kc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(ap, a, M, K, transA, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const bpanel = bp + ((<usize>jr * <usize>kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const cTile = c + ((<usize>(ic + ir) * <usize>N + <usize>(jc + jr)) << 2);
            microTile(kc, ap + ((<usize>ir * <usize>kc) << 2), bpanel, cTile, ldcBytes, min(MR, mc - ir), min(NR, nc - jr), pc > 0, edge);
          }
        }
      }
    }
  }
}

// Batched GEMM. Batch item t uses A at a + t*strideA, B at b + t*strideB, C at c + t*strideC
// (byte strides; 0 broadcasts). With byBatch, [begin, end) are batch items (each whole);
// otherwise they are columns of C (multiples of NR) and every batch item is done for them.
export function gemm_f32(
  a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, transA: i32, transB: i32,
  batch: i32, strideA: usize, strideB: usize, strideC: usize, byBatch: i32,
  scratch: usize, scratchStride: usize, begin: i32, end: i32, thread: i32,
): void {
  const s = scratch + <usize>thread * scratchStride;
  if (byBatch) {
    for (let t = begin; t < end; t++) {
      gemmColumns(a + <usize>t * strideA, b + <usize>t * strideB, c + <usize>t * strideC, M, N, K, transA != 0, transB != 0, 0, N, s);
    }
  } else {
    for (let t = 0; t < batch; t++) {
      gemmColumns(a + <usize>t * strideA, b + <usize>t * strideB, c + <usize>t * strideC, M, N, K, transA != 0, transB != 0, begin, end, s);
    }
  }
}
