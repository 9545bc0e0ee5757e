// Bitmap-compressed rows x one activation row: y[r] = sum_j W[r, j] x[j], with each row stored
// as one mask bit per column (8 columns per byte, lowest bit first) and its kept values packed
// in column order. At 50% this is 2.125 bytes per weight against CSR's 3 (f32 + u16 index) and
// dense's 4, and the activations are read contiguously instead of gathered: the kept values of
// 8 columns are expanded in registers to their lanes by byte shuffles, then multiplied with x
// as in a dense dot product. (The bitmap encoding of SpInfer, Fan et al., EuroSys 2025, which
// targets the 30-70% sparsity where CSR's index bytes cancel its savings.) Like the dense GEMV it
// multiplies pruned columns by zero, so an infinite activation there gives NaN, as dense does;
// the CSR kernels (and this format's batched path, which runs them) skip those columns.
// Reference: src/backends/cpu/reference/sparse-linear.ts (linearBitmapReference).
import { hsum, madd, zero } from './simd';
import { X_STAGING, pinLine, tileRowProduct } from './csr';

// Per mask byte b (columns 8g..8g+8), 64 bytes: the i8x16.swizzle controls that place the kept
// values of the low nibble (from the 16 bytes at the row's value pointer) and of the high nibble
// (from those 16 bytes and the next 16; a byte >= 16 selects zero) into lanes 0-3 of their
// column, then the value pointer's advance in bytes (4 x popcount(b)). 16 KiB, filled once by
// bitmap_table_init at a fixed address below the heap so loads take it as an immediate offset.
export const BITMAP_TABLE: usize = 832 * 1024;
const ZERO_LANE: u8 = 0x80;

// Per mask byte, the positions of its set bits as 8 u16 lanes (ascending, unused lanes 0), for
// decoding column indices without a branch per bit: 4 KiB after BITMAP_TABLE.
const POSITIONS_TABLE: usize = BITMAP_TABLE + 16384;

export function bitmap_table_init(): void {
  for (let b = 0; b < 256; b++) {
    let k = 0;
    for (let j = 0; j < 8; j++) store<u16>(POSITIONS_TABLE + (<usize>b << 4) + (<usize>j << 1), 0);
    for (let j = 0; j < 8; j++) {
      if ((b >> j) & 1) store<u16>(POSITIONS_TABLE + (<usize>b << 4) + (<usize>(k++) << 1), <u16>j);
    }
  }
  for (let b = 0; b < 256; b++) {
    const entry = BITMAP_TABLE + (<usize>b << 6);
    let kept = 0;
    for (let j = 0; j < 8; j++) {
      const on = (b >> j) & 1;
      for (let k = 0; k < 4; k++) {
        const lane = ((j & 3) << 2) + k;
        if (j < 4) {
          store<u8>(entry + lane, on ? <u8>((kept << 2) + k) : ZERO_LANE);
        } else {
          // High nibble: value index `kept` (past the low nibble's values) sits in the first 16 bytes if < 4, else in the next 16.
          store<u8>(entry + 16 + lane, on && kept < 4 ? <u8>((kept << 2) + k) : ZERO_LANE);
          store<u8>(entry + 32 + lane, on && kept >= 4 ? <u8>(((kept - 4) << 2) + k) : ZERO_LANE);
        }
      }
      kept += on;
    }
    store<u32>(entry + 48, <u32>(kept << 2));
  }
}

// The 8 weights of mask byte b, expanded into two vectors (columns 0-3 and 4-7), dotted with the
// two activation vectors and added to acc.
@inline function expandDot(b: usize, vp: usize, xlo: v128, xhi: v128, acc: v128): v128 {
  const e = b << 6;
  const va = v128.load(vp);
  const vb = v128.load(vp, 16);
  const wlo = shuffleBytes(va, v128.load(e, BITMAP_TABLE));
  const whi = v128.or(shuffleBytes(va, v128.load(e, BITMAP_TABLE + 16)), shuffleBytes(vb, v128.load(e, BITMAP_TABLE + 32)));
  return madd(whi, xhi, madd(wlo, xlo, acc));
}

// Every control byte is below 16 or 0x80, where relaxed and strict swizzles agree (0 for 0x80);
// the relaxed one is a single pshufb on x86, the strict one adds a saturating add per use.
@inline function shuffleBytes(v: v128, control: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(v, control);
  return i8x16.swizzle(v, control);
}

@inline function advance(b: usize): usize {
  return <usize>load<u32>(b << 6, BITMAP_TABLE + 48);
}

// Rows [begin, end) of a bitmap weight: rowStart u32 [rows + 1] (index of each row's first
// value), masks u8 [rows, maskBytes], values f32 [nnz] (the kernel may load up to 32 bytes past
// a row's last value, into lanes its shuffles zero; the heap keeps 64 bytes readable past its top
// block, heap.ts READ_SLACK). x is staged at X_STAGING, zero-padded to
// maskBytes * 8 floats. Four rows a quarter of the range apart at a time, as csr_spmv_staged;
// each row's multiply-adds are pinned by a store to a per-thread scratch line so that V8 keeps
// them next to their loads (otherwise it sinks all of them to the loop's end and spills).
export function bitmap_spmv(rowStart: usize, masks: usize, vals: usize, y: usize, maskBytes: i32, begin: i32, end: i32, thread: i32): void {
  const pin = pinLine(thread);
  const bytes = <usize>maskBytes;
  const quarter = (end - begin) >> 2;
  for (let i = 0; i < quarter; i++) {
    const r0 = begin + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
    let p0 = vals + (<usize>load<u32>(rowStart + (<usize>r0 << 2)) << 2);
    let p1 = vals + (<usize>load<u32>(rowStart + (<usize>r1 << 2)) << 2);
    let p2 = vals + (<usize>load<u32>(rowStart + (<usize>r2 << 2)) << 2);
    let p3 = vals + (<usize>load<u32>(rowStart + (<usize>r3 << 2)) << 2);
    // One mask pointer for the four rows (the others are 1, 2 and 3 quarter strides on).
    const stride = <usize>quarter * bytes, stride3 = stride * 3;
    let m = masks + <usize>r0 * bytes;
    const mEnd = m + bytes;
    let xo: usize = 0;
    let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
    while (m < mEnd) {
      const xlo = v128.load(xo, X_STAGING);
      const xhi = v128.load(xo, X_STAGING + 16);
      const b0 = <usize>load<u8>(m);
      a0 = expandDot(b0, p0, xlo, xhi, a0);
      v128.store(pin, a0);
      p0 += advance(b0);
      const b1 = <usize>load<u8>(m + stride);
      a1 = expandDot(b1, p1, xlo, xhi, a1);
      v128.store(pin, a1, 16);
      p1 += advance(b1);
      const b2 = <usize>load<u8>(m + (stride << 1));
      a2 = expandDot(b2, p2, xlo, xhi, a2);
      v128.store(pin, a2, 32);
      p2 += advance(b2);
      const b3 = <usize>load<u8>(m + stride3);
      a3 = expandDot(b3, p3, xlo, xhi, a3);
      v128.store(pin, a3, 48);
      p3 += advance(b3);
      m++;
      xo += 32;
    }
    store<f32>(y + (<usize>r0 << 2), hsum(a0));
    store<f32>(y + (<usize>r1 << 2), hsum(a1));
    store<f32>(y + (<usize>r2 << 2), hsum(a2));
    store<f32>(y + (<usize>r3 << 2), hsum(a3));
  }
  for (let r = begin + (quarter << 2); r < end; r++) {
    let p = vals + (<usize>load<u32>(rowStart + (<usize>r << 2)) << 2);
    const m = masks + <usize>r * bytes;
    let a = zero();
    for (let g: usize = 0; g < bytes; g++) {
      const b = <usize>load<u8>(m + g);
      a = expandDot(b, p, v128.load(g << 5, X_STAGING), v128.load(g << 5, X_STAGING + 16), a);
      p += advance(b);
    }
    store<f32>(y + (<usize>r << 2), hsum(a));
  }
}

// CSR column indices of rows [begin, end) from their mask bits, written at out[rowStart[r] ..]
// (u16 when wide == 0, else i32), for weights wider than bitmap_spmv's staging area and
// bitmap_spmm's u16 scratch (more than 65536 columns): the CSR kernels then run on them.
export function bitmap_columns(rowStart: usize, masks: usize, out: usize, maskBytes: i32, wide: i32, begin: i32, end: i32): void {
  const bytes = <usize>maskBytes;
  for (let r = begin; r < end; r++) {
    let k = <usize>load<u32>(rowStart + (<usize>r << 2));
    const m = masks + <usize>r * bytes;
    for (let g: usize = 0; g < bytes; g++) {
      let b = <u32>load<u8>(m + g);
      while (b != 0) {
        const c = <u32>(g << 3) + ctz(b);
        if (wide) store<u32>(out + (k << 2), c);
        else store<u16>(out + (k << 1), <u16>c);
        k++;
        b &= b - 1;
      }
    }
  }
}

// Several activation rows: xt holds x transposed in tiles of 16 batch columns (transpose.ts), as
// for csr_spmm. Each thread decodes the column indices of as many rows as its scratch holds (u16,
// so K <= 65536), then runs those rows over every tile of xt, each kept value doing 16
// multiply-adds: the CSR kernel's loop without storing CSR's indices for the whole weight.
export function bitmap_spmm(
  rowStart: usize, masks: usize, vals: usize, xt: usize, y: usize, M: i32, N: i32, K: i32, maskBytes: i32,
  scratch: usize, scratchStride: usize, begin: i32, end: i32, thread: i32,
): void {
  const tiles = (M + 15) >> 4;
  const tileBytes = (<usize>K) << 6;
  const columns = scratch + <usize>thread * scratchStride;
  // Each mask byte writes 8 lanes (16 bytes) however many bits it has: keep 8 columns of slack.
  const capacity = <u32>(scratchStride >> 1) - 8;
  let r0 = begin;
  while (r0 < end) {
    const base = load<u32>(rowStart + (<usize>r0 << 2));
    // At least one row: it has at most K <= 65536 columns, 128 KiB, within the GEMM scratch.
    let r1 = r0 + 1;
    while (r1 < end && load<u32>(rowStart + (<usize>(r1 + 1) << 2)) - base <= capacity) r1++;
    for (let r = r0; r < r1; r++) {
      let k = <usize>(load<u32>(rowStart + (<usize>r << 2)) - base);
      const m = masks + <usize>r * <usize>maskBytes;
      let first = i16x8.splat(0);
      const eight = i16x8.splat(8);
      for (let g: usize = 0; g < <usize>maskBytes; g++) {
        const b = <usize>load<u8>(m + g);
        v128.store(columns + (k << 1), i16x8.add(first, v128.load(b << 4, POSITIONS_TABLE)));
        k += <usize>popcnt(b);
        first = i16x8.add(first, eight);
      }
    }
    for (let tile = 0; tile < tiles; tile++) {
      const xtile = xt + <usize>tile * tileBytes;
      for (let r = r0; r < r1; r++) {
        // columns holds the block's indices from value `base` on (wrapping arithmetic: index j at columns + 2 (j - base)).
        const rp = rowStart + (<usize>r << 2);
        tileRowProduct<u16>(vals, columns - (<usize>base << 1), <usize>load<u32>(rp), <usize>load<u32>(rp, 4), xtile, y, N, tile << 4, min(16, M - (tile << 4)), r);
      }
    }
    r0 = r1;
  }
}
