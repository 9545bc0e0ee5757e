// CSR weight x dense activations, the layout of a Linear layer: y[b, r] = sum_j W[r, col_j] x[b, col_j].
// References: src/sparse/reference.ts (csrLinearReference).
//
// Batch 1 (decode) gathers x through the column indices, four lanes at a time (one scalar load
// per nonzero is the floor without a gather instruction). Larger batches read a transposed,
// tile-blocked copy of x (transpose.ts) so each nonzero does TILE contiguous multiply-adds.
import { hsum, madd, zero } from './simd';

// Batch 1 with u16 indices reads x from this fixed address (the caller copies it there, cols <=
// 65536): the gather address is then index*4 plus a constant folded into the load instruction,
// one add fewer per nonzero (about 4% faster, measured). The JavaScript heap starts above it.
export const X_STAGING: usize = 512 * 1024;
export const X_STAGING_FLOATS: i32 = 65536;
// Per-thread scratch lines (128 bytes each, 256 threads) that batch-1 kernels store their
// accumulators to after each multiply-add: see csr_spmv_staged. Below the heap, above X_STAGING.
const PIN_BASE: usize = 768 * 1024;
@inline export function pinLine(thread: i32): usize {
  return PIN_BASE + ((<usize>thread & 255) << 7);
}

// Gathers x[col] for the four u16/i32 column indices at `ci` into one vector. Each value is
// loaded as a broadcast (a pure load on x86) and the four are merged by blend-shaped shuffles,
// which V8 lowers to vpblendw (two ports) rather than lane inserts (one shuffle port): about
// 8% faster on the measured machine (Sapphire Rapids, Node 20).
@inline function gather4<T>(x: usize, ci: usize): v128 {
  const s = sizeof<T>();
  const p0 = v128.load32_splat(x + (<usize>load<T>(ci) << 2));
  const p1 = v128.load32_splat(x + (<usize>load<T>(ci, s) << 2));
  const p2 = v128.load32_splat(x + (<usize>load<T>(ci, 2 * s) << 2));
  const p3 = v128.load32_splat(x + (<usize>load<T>(ci, 3 * s) << 2));
  return blend4(p0, p1, p2, p3);
}

// [p0[0], p1[1], p2[2], p3[3]] by blends.
@inline function blend4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(p0, p1, 0, 5, 2, 3), v128.shuffle<f32>(p2, p3, 0, 1, 2, 7), 0, 1, 6, 7);
}

// gather4 for u16 indices with x at X_STAGING.
@inline function gather4Staged(ci: usize): v128 {
  const p0 = v128.load32_splat(<usize>load<u16>(ci) << 2, X_STAGING);
  const p1 = v128.load32_splat(<usize>load<u16>(ci, 2) << 2, X_STAGING);
  const p2 = v128.load32_splat(<usize>load<u16>(ci, 4) << 2, X_STAGING);
  const p3 = v128.load32_splat(<usize>load<u16>(ci, 6) << 2, X_STAGING);
  return blend4(p0, p1, p2, p3);
}

// The rest of one row from nonzero `from` on (x at X_STAGING), added to `acc`, reduced.
@inline function stagedRowTail(colIdx: usize, vals: usize, from: usize, stop: usize, acc: v128): f32 {
  let ci = colIdx + (from << 1);
  let vi = vals + (from << 2);
  const stop4 = ci + (((stop - from) & ~3) << 1);
  while (ci < stop4) {
    acc = madd(v128.load(vi), gather4Staged(ci), acc);
    ci += 8;
    vi += 16;
  }
  let sum = hsum(acc);
  const last = colIdx + (stop << 1);
  while (ci < last) {
    sum += load<f32>(vi) * load<f32>(<usize>load<u16>(ci) << 2, X_STAGING);
    ci += 2;
    vi += 4;
  }
  return sum;
}

// Eight nonzeros of one row at vi (values) and ci (u16 indices), added to acc.
@inline function stagedStep8(vi: usize, ci: usize, acc: v128): v128 {
  return madd(v128.load(vi, 16), gather4Staged(ci + 8), madd(v128.load(vi), gather4Staged(ci), acc));
}

// y[r] for rows [begin, end), one activation row staged at X_STAGING, u16 column indices.
// Four rows at a time, through the nonzeros all four have: eight streams of values and indices
// in flight instead of two, which matters once weights come from DRAM rather than cache
// (measured on 11008x4096 at 50%: one row at a time ran slower than the dense GEMV). The four
// rows are a quarter of the range apart, so that their streams do not share 4 KiB pages (see
// gemvRows): weights from DRAM, 4096x768 at 50% 810 -> 498 us, 4096x4096 at 90% 850 -> 556 us.
// Each row's multiply-adds are followed by a store of its accumulator to this thread's pin line:
// without it V8 issues every load of the iteration first and sinks the blends and multiply-adds
// to the loop's end, spilling 8 vector registers per iteration (4096x4096 at 90% from cache:
// 0.364 -> 0.302 ms with the pin). Eight nonzeros per row per iteration halve the loop's
// bookkeeping per nonzero (1.02-1.24x).
export function csr_spmv_staged(rowPtr: usize, colIdx: usize, vals: usize, y: usize, begin: i32, end: i32, thread: i32): void {
  const pin = pinLine(thread);
  const quarter = (end - begin) >> 2;
  for (let i = 0; i < quarter; i++) {
    const r0 = begin + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
    const s0 = <usize>load<u32>(rowPtr + (<usize>r0 << 2)), e0 = <usize>load<u32>(rowPtr + (<usize>r0 << 2), 4);
    const s1 = <usize>load<u32>(rowPtr + (<usize>r1 << 2)), e1 = <usize>load<u32>(rowPtr + (<usize>r1 << 2), 4);
    const s2 = <usize>load<u32>(rowPtr + (<usize>r2 << 2)), e2 = <usize>load<u32>(rowPtr + (<usize>r2 << 2), 4);
    const s3 = <usize>load<u32>(rowPtr + (<usize>r3 << 2)), e3 = <usize>load<u32>(rowPtr + (<usize>r3 << 2), 4);
    const common = min(min(e0 - s0, e1 - s1), min(e2 - s2, e3 - s3)) & ~3;
    let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
    let j: usize = 0;
    for (; j + 8 <= common; j += 8) {
      a0 = stagedStep8(vals + ((s0 + j) << 2), colIdx + ((s0 + j) << 1), a0);
      v128.store(pin, a0);
      a1 = stagedStep8(vals + ((s1 + j) << 2), colIdx + ((s1 + j) << 1), a1);
      v128.store(pin, a1, 16);
      a2 = stagedStep8(vals + ((s2 + j) << 2), colIdx + ((s2 + j) << 1), a2);
      v128.store(pin, a2, 32);
      a3 = stagedStep8(vals + ((s3 + j) << 2), colIdx + ((s3 + j) << 1), a3);
      v128.store(pin, a3, 48);
    }
    if (j < common) {
      a0 = madd(v128.load(vals + ((s0 + j) << 2)), gather4Staged(colIdx + ((s0 + j) << 1)), a0);
      a1 = madd(v128.load(vals + ((s1 + j) << 2)), gather4Staged(colIdx + ((s1 + j) << 1)), a1);
      a2 = madd(v128.load(vals + ((s2 + j) << 2)), gather4Staged(colIdx + ((s2 + j) << 1)), a2);
      a3 = madd(v128.load(vals + ((s3 + j) << 2)), gather4Staged(colIdx + ((s3 + j) << 1)), a3);
    }
    store<f32>(y + (<usize>r0 << 2), stagedRowTail(colIdx, vals, s0 + common, e0, a0));
    store<f32>(y + (<usize>r1 << 2), stagedRowTail(colIdx, vals, s1 + common, e1, a1));
    store<f32>(y + (<usize>r2 << 2), stagedRowTail(colIdx, vals, s2 + common, e2, a2));
    store<f32>(y + (<usize>r3 << 2), stagedRowTail(colIdx, vals, s3 + common, e3, a3));
  }
  for (let r = begin + (quarter << 2); r < end; r++) {
    const rp = rowPtr + (<usize>r << 2);
    store<f32>(y + (<usize>r << 2), stagedRowTail(colIdx, vals, <usize>load<u32>(rp), <usize>load<u32>(rp, 4), zero()));
  }
}

@inline function spmvRows<T>(rowPtr: usize, colIdx: usize, vals: usize, x: usize, y: usize, r0: i32, r1: i32): void {
  const s = <usize>sizeof<T>();
  for (let r = r0; r < r1; r++) {
    const rp = rowPtr + (<usize>r << 2);
    let j = <usize>load<u32>(rp);
    const end = <usize>load<u32>(rp, 4);
    let acc0 = zero(), acc1 = zero();
    for (; j + 8 <= end; j += 8) {
      const ci = colIdx + j * s;
      const vi = vals + (j << 2);
      acc0 = madd(v128.load(vi), gather4<T>(x, ci), acc0);
      acc1 = madd(v128.load(vi, 16), gather4<T>(x, ci + 4 * s), acc1);
    }
    if (j + 4 <= end) {
      acc0 = madd(v128.load(vals + (j << 2)), gather4<T>(x, colIdx + j * s), acc0);
      j += 4;
    }
    let sum = hsum(f32x4.add(acc0, acc1));
    for (; j < end; j++) sum += load<f32>(vals + (j << 2)) * load<f32>(x + (<usize>load<T>(colIdx + j * s) << 2));
    store<f32>(y + (<usize>r << 2), sum);
  }
}

// One activation row, i32 column indices (more than 65536 columns): y[r] for rows [begin, end).
export function csr_spmv_i32(rowPtr: usize, colIdx: usize, vals: usize, x: usize, y: usize, begin: i32, end: i32): void {
  spmvRows<i32>(rowPtr, colIdx, vals, x, y, begin, end);
}

// Batched: xt holds x transposed in tiles of 16 batch columns, xt[tile][k][16] (transpose.ts).
// For each tile and row, 4 accumulators hold y[tile, r]; each nonzero adds v * xt[tile][col][:].
@inline function spmmRows<T>(
  rowPtr: usize, colIdx: usize, vals: usize, xt: usize, y: usize, M: i32, N: i32, K: i32, r0: i32, r1: i32,
): void {
  const tiles = (M + 15) >> 4;
  const tileBytes = (<usize>K) << 6; // K * 16 floats
  for (let tile = 0; tile < tiles; tile++) {
    const xtile = xt + <usize>tile * tileBytes;
    const m0 = tile << 4;
    const mCount = min(16, M - m0);
    for (let r = r0; r < r1; r++) {
      const rp = rowPtr + (<usize>r << 2);
      tileRowProduct<T>(vals, colIdx, <usize>load<u32>(rp), <usize>load<u32>(rp, 4), xtile, y, N, m0, mCount, r);
    }
  }
}

// The batched sparse kernels' inner loop (CSR, N:M, bitmap): y[m0 + i, r] for i < mCount, from
// kept values j in [j0, j1) at vals + 4j (f32) with columns at cols + j * sizeof<T>(), each value
// doing 16 multiply-adds against row `column` of one tile of xt (16 batch columns, transpose.ts).
@inline export function tileRowProduct<T>(
  vals: usize, cols: usize, j0: usize, j1: usize, xtile: usize, y: usize, N: i32, m0: i32, mCount: i32, r: i32,
): void {
  let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
  for (let j = j0; j < j1; j++) {
    const v = v128.load32_splat(vals + (j << 2));
    const src = xtile + (<usize>load<T>(cols + j * sizeof<T>()) << 6);
    a0 = madd(v, v128.load(src), a0);
    a1 = madd(v, v128.load(src, 16), a1);
    a2 = madd(v, v128.load(src, 32), a2);
    a3 = madd(v, v128.load(src, 48), a3);
  }
  storeColumn(y, N, m0, mCount, r, a0, a1, a2, a3);
}

// Writes lanes of the four accumulators to y[m0 + i, r], i < mCount (y is [M, N]).
@inline export function storeColumn(y: usize, N: i32, m0: i32, mCount: i32, r: i32, a0: v128, a1: v128, a2: v128, a3: v128): void {
  const stride = <usize>N << 2;
  let p = y + ((<usize>m0 * <usize>N + <usize>r) << 2);
  if (mCount == 16) {
    store<f32>(p, f32x4.extract_lane(a0, 0)); p += stride;
    store<f32>(p, f32x4.extract_lane(a0, 1)); p += stride;
    store<f32>(p, f32x4.extract_lane(a0, 2)); p += stride;
    store<f32>(p, f32x4.extract_lane(a0, 3)); p += stride;
    store<f32>(p, f32x4.extract_lane(a1, 0)); p += stride;
    store<f32>(p, f32x4.extract_lane(a1, 1)); p += stride;
    store<f32>(p, f32x4.extract_lane(a1, 2)); p += stride;
    store<f32>(p, f32x4.extract_lane(a1, 3)); p += stride;
    store<f32>(p, f32x4.extract_lane(a2, 0)); p += stride;
    store<f32>(p, f32x4.extract_lane(a2, 1)); p += stride;
    store<f32>(p, f32x4.extract_lane(a2, 2)); p += stride;
    store<f32>(p, f32x4.extract_lane(a2, 3)); p += stride;
    store<f32>(p, f32x4.extract_lane(a3, 0)); p += stride;
    store<f32>(p, f32x4.extract_lane(a3, 1)); p += stride;
    store<f32>(p, f32x4.extract_lane(a3, 2)); p += stride;
    store<f32>(p, f32x4.extract_lane(a3, 3));
    return;
  }
  // Partial tile: spill to a stack-free path through memory order of lanes.
  for (let i = 0; i < mCount; i++) {
    const q = i >> 2;
    const v = q == 0 ? a0 : q == 1 ? a1 : q == 2 ? a2 : a3;
    const lane = i & 3;
    const f = lane == 0 ? f32x4.extract_lane(v, 0) : lane == 1 ? f32x4.extract_lane(v, 1) : lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
    store<f32>(p, f);
    p += stride;
  }
}

export function csr_spmm_u16(rowPtr: usize, colIdx: usize, vals: usize, xt: usize, y: usize, M: i32, N: i32, K: i32, begin: i32, end: i32): void {
  spmmRows<u16>(rowPtr, colIdx, vals, xt, y, M, N, K, begin, end);
}

export function csr_spmm_i32(rowPtr: usize, colIdx: usize, vals: usize, xt: usize, y: usize, M: i32, N: i32, K: i32, begin: i32, end: i32): void {
  spmmRows<i32>(rowPtr, colIdx, vals, xt, y, M, N, K, begin, end);
}
