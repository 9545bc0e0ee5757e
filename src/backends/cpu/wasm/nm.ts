// N:M weights (n values kept in every m consecutive weights along the input dimension) x dense
// activations: y[b, r] = sum_g sum_{i<n} v[r, g, i] x[b, g*m + p[r, g, i]].
// Values are [rows, cols/m*n]; positions p are packed `bits` bits each (2, 4 or 8), least
// significant first, each row starting on a fresh byte. Reference: src/sparse/reference.ts.
import { hsum, madd, zero } from './simd';
import { tileRowProduct } from './csr';

// 2:4, batch 1. A metadata byte holds the positions of two groups (8 columns, 4 kept values):
// low nibble i0 | i1<<2 for the first group, high nibble for the second, with i0 < i1, so only
// 6 x 6 = 36 of its 256 values occur. quad_table_24 precomputes, for every byte position p and
// each of those 36 codes, the 4 activations the code selects from x[8p .. 8p+8) (576 bytes per
// position, K * 72 bytes in all: L2-resident); the kernel then costs one 16-byte table load per
// 4 kept values instead of four gathers. Measured: dense-packed slots matter, since a sparse
// 4 KiB-per-position table aliases in the caches and ran slower than the gathers.
const VALID_NIBBLES: StaticArray<i32> = [4, 8, 12, 9, 13, 14]; // (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
const POSITION_BYTES: usize = 576; // 36 slots x 16 bytes

// Byte offset of each metadata byte's slot within its position (0 for codes that cannot occur).
const SLOT_OFFSET: StaticArray<u16> = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 96, 288, 0, 0, 192, 384, 480, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 16, 0, 0, 0, 112, 304, 0, 0, 208, 400, 496, 0,
  0, 0, 0, 0, 48, 0, 0, 0, 144, 336, 0, 0, 240, 432, 528, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 32, 0, 0, 0, 128, 320, 0, 0, 224, 416, 512, 0,
  0, 0, 0, 0, 64, 0, 0, 0, 160, 352, 0, 0, 256, 448, 544, 0,
  0, 0, 0, 0, 80, 0, 0, 0, 176, 368, 0, 0, 272, 464, 560, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

export function quad_table_24(x: usize, table: usize, K: i32, begin: i32, end: i32): void {
  for (let p = begin; p < end; p++) {
    const xs = x + (<usize>p << 5);
    let slot = table + <usize>p * POSITION_BYTES;
    for (let a = 0; a < 6; a++) {
      const lo = unchecked(VALID_NIBBLES[a]);
      const x0 = load<f32>(xs + (<usize>(lo & 3) << 2));
      const x1 = load<f32>(xs + (<usize>(lo >> 2) << 2));
      for (let b = 0; b < 6; b++) {
        const hi = unchecked(VALID_NIBBLES[b]);
        store<f32>(slot, x0);
        store<f32>(slot, x1, 4);
        store<f32>(slot, load<f32>(xs + 16 + (<usize>(hi & 3) << 2)), 8);
        store<f32>(slot, load<f32>(xs + 16 + (<usize>(hi >> 2) << 2)), 12);
        slot += 16;
      }
    }
  }
}

@inline function slotOf(code: usize): usize {
  return <usize>unchecked(SLOT_OFFSET[code]);
}

// Dot product of one 2:4 row with x through the table, positions [0, positions).
@inline function nm24Row(v: usize, mt: usize, table: usize, positions: i32): v128 {
  let acc0 = zero(), acc1 = zero();
  let p = 0;
  let t = table;
  for (; p + 2 <= positions; p += 2) {
    const codes = <usize>load<u16>(mt + <usize>p);
    const vp = v + (<usize>p << 4);
    acc0 = madd(v128.load(vp), v128.load(t + slotOf(codes & 255)), acc0);
    acc1 = madd(v128.load(vp, 16), v128.load(t + POSITION_BYTES + slotOf(codes >> 8)), acc1);
    t += 2 * POSITION_BYTES;
  }
  if (p < positions) acc0 = madd(v128.load(v + (<usize>p << 4)), v128.load(t + slotOf(<usize>load<u8>(mt + <usize>p))), acc0);
  return f32x4.add(acc0, acc1);
}

// The group a lone last metadata nibble describes (K % 8 == 4).
@inline function nm24LastGroup(v: usize, mt: usize, x: usize, groups: i32): f32 {
  const code = <usize>load<u8>(mt + <usize>(groups >> 1));
  const g = <usize>(groups - 1);
  const xs = x + (g << 4);
  return load<f32>(v + (g << 3)) * load<f32>(xs + ((code & 3) << 2)) + load<f32>(v + (g << 3), 4) * load<f32>(xs + (((code >> 2) & 3) << 2));
}

// y[r] for rows [begin, end) of a 2:4 weight with K columns (K % 4 == 0). Four rows at a time:
// they share the table walk and loop overhead, and eight concurrent streams keep more memory
// requests in flight than one row's two (measured faster than one and two rows at a time).
// The four rows are a quarter of the range apart, so that their streams do not share 4 KiB
// pages (see gemvRows): weights from DRAM, 4096x768 542 -> 334 us, 768x768 110 -> 76 us.
export function nm24_spmv(vals: usize, meta: usize, table: usize, x: usize, y: usize, K: i32, begin: i32, end: i32): void {
  const groups = K >> 2;
  const positions = groups >> 1; // full metadata bytes
  const valsPerRow = <usize>(groups << 1) << 2;
  const metaPerRow = <usize>((groups + 1) >> 1);
  const quarter = (end - begin) >> 2;
  for (let i = 0; i < quarter; i++) {
    const r0 = begin + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
    const v0 = vals + <usize>r0 * valsPerRow, v1 = vals + <usize>r1 * valsPerRow, v2 = vals + <usize>r2 * valsPerRow, v3 = vals + <usize>r3 * valsPerRow;
    const m0 = meta + <usize>r0 * metaPerRow, m1 = meta + <usize>r1 * metaPerRow, m2 = meta + <usize>r2 * metaPerRow, m3 = meta + <usize>r3 * metaPerRow;
    let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
    let t = table;
    let o: usize = 0;
    const stop = <usize>positions;
    for (let p: usize = 0; p < stop; p++) {
      a0 = madd(v128.load(v0 + o), v128.load(t + slotOf(<usize>load<u8>(m0 + p))), a0);
      a1 = madd(v128.load(v1 + o), v128.load(t + slotOf(<usize>load<u8>(m1 + p))), a1);
      a2 = madd(v128.load(v2 + o), v128.load(t + slotOf(<usize>load<u8>(m2 + p))), a2);
      a3 = madd(v128.load(v3 + o), v128.load(t + slotOf(<usize>load<u8>(m3 + p))), a3);
      t += POSITION_BYTES;
      o += 16;
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    if (groups & 1) {
      s0 += nm24LastGroup(v0, m0, x, groups);
      s1 += nm24LastGroup(v1, m1, x, groups);
      s2 += nm24LastGroup(v2, m2, x, groups);
      s3 += nm24LastGroup(v3, m3, x, groups);
    }
    store<f32>(y + (<usize>r0 << 2), s0);
    store<f32>(y + (<usize>r1 << 2), s1);
    store<f32>(y + (<usize>r2 << 2), s2);
    store<f32>(y + (<usize>r3 << 2), s3);
  }
  let r = begin + (quarter << 2);
  for (; r < end; r++) {
    const v = vals + <usize>r * valsPerRow;
    const mt = meta + <usize>r * metaPerRow;
    let s = hsum(nm24Row(v, mt, table, positions));
    if (groups & 1) s += nm24LastGroup(v, mt, x, groups);
    store<f32>(y + (<usize>r << 2), s);
  }
}

// 4:8, batch 1. A group's metadata is one u16 of four 4-bit positions (0..7, ascending). Each
// metadata byte (two positions p, q) indexes SWIZZLE_PAIRS_48 for the byte lanes 4p..4p+3,
// 4q..4q+3 of an i8x16.swizzle over the group's 32 bytes of x: the low half x[0..4) answers
// lanes below 16 and the high half the rest (swizzle gives 0 for lanes out of range), so two
// swizzles and an or gather the four kept activations without a scalar load each. The table is
// 2 KiB (L1-resident) and built at compile time, not per call like the 2:4 quad table.
// The generic n:m kernel below ran 4:8 decode at 0.36x of dense.
const SWIZZLE_PAIRS_48: StaticArray<u64> = [
  0x0302010003020100, 0x0302010007060504, 0x030201000b0a0908, 0x030201000f0e0d0c,
  0x0302010013121110, 0x0302010017161514, 0x030201001b1a1918, 0x030201001f1e1d1c,
  0x0302010023222120, 0x0302010027262524, 0x030201002b2a2928, 0x030201002f2e2d2c,
  0x0302010033323130, 0x0302010037363534, 0x030201003b3a3938, 0x030201003f3e3d3c,
  0x0706050403020100, 0x0706050407060504, 0x070605040b0a0908, 0x070605040f0e0d0c,
  0x0706050413121110, 0x0706050417161514, 0x070605041b1a1918, 0x070605041f1e1d1c,
  0x0706050423222120, 0x0706050427262524, 0x070605042b2a2928, 0x070605042f2e2d2c,
  0x0706050433323130, 0x0706050437363534, 0x070605043b3a3938, 0x070605043f3e3d3c,
  0x0b0a090803020100, 0x0b0a090807060504, 0x0b0a09080b0a0908, 0x0b0a09080f0e0d0c,
  0x0b0a090813121110, 0x0b0a090817161514, 0x0b0a09081b1a1918, 0x0b0a09081f1e1d1c,
  0x0b0a090823222120, 0x0b0a090827262524, 0x0b0a09082b2a2928, 0x0b0a09082f2e2d2c,
  0x0b0a090833323130, 0x0b0a090837363534, 0x0b0a09083b3a3938, 0x0b0a09083f3e3d3c,
  0x0f0e0d0c03020100, 0x0f0e0d0c07060504, 0x0f0e0d0c0b0a0908, 0x0f0e0d0c0f0e0d0c,
  0x0f0e0d0c13121110, 0x0f0e0d0c17161514, 0x0f0e0d0c1b1a1918, 0x0f0e0d0c1f1e1d1c,
  0x0f0e0d0c23222120, 0x0f0e0d0c27262524, 0x0f0e0d0c2b2a2928, 0x0f0e0d0c2f2e2d2c,
  0x0f0e0d0c33323130, 0x0f0e0d0c37363534, 0x0f0e0d0c3b3a3938, 0x0f0e0d0c3f3e3d3c,
  0x1312111003020100, 0x1312111007060504, 0x131211100b0a0908, 0x131211100f0e0d0c,
  0x1312111013121110, 0x1312111017161514, 0x131211101b1a1918, 0x131211101f1e1d1c,
  0x1312111023222120, 0x1312111027262524, 0x131211102b2a2928, 0x131211102f2e2d2c,
  0x1312111033323130, 0x1312111037363534, 0x131211103b3a3938, 0x131211103f3e3d3c,
  0x1716151403020100, 0x1716151407060504, 0x171615140b0a0908, 0x171615140f0e0d0c,
  0x1716151413121110, 0x1716151417161514, 0x171615141b1a1918, 0x171615141f1e1d1c,
  0x1716151423222120, 0x1716151427262524, 0x171615142b2a2928, 0x171615142f2e2d2c,
  0x1716151433323130, 0x1716151437363534, 0x171615143b3a3938, 0x171615143f3e3d3c,
  0x1b1a191803020100, 0x1b1a191807060504, 0x1b1a19180b0a0908, 0x1b1a19180f0e0d0c,
  0x1b1a191813121110, 0x1b1a191817161514, 0x1b1a19181b1a1918, 0x1b1a19181f1e1d1c,
  0x1b1a191823222120, 0x1b1a191827262524, 0x1b1a19182b2a2928, 0x1b1a19182f2e2d2c,
  0x1b1a191833323130, 0x1b1a191837363534, 0x1b1a19183b3a3938, 0x1b1a19183f3e3d3c,
  0x1f1e1d1c03020100, 0x1f1e1d1c07060504, 0x1f1e1d1c0b0a0908, 0x1f1e1d1c0f0e0d0c,
  0x1f1e1d1c13121110, 0x1f1e1d1c17161514, 0x1f1e1d1c1b1a1918, 0x1f1e1d1c1f1e1d1c,
  0x1f1e1d1c23222120, 0x1f1e1d1c27262524, 0x1f1e1d1c2b2a2928, 0x1f1e1d1c2f2e2d2c,
  0x1f1e1d1c33323130, 0x1f1e1d1c37363534, 0x1f1e1d1c3b3a3938, 0x1f1e1d1c3f3e3d3c,
  0x2322212003020100, 0x2322212007060504, 0x232221200b0a0908, 0x232221200f0e0d0c,
  0x2322212013121110, 0x2322212017161514, 0x232221201b1a1918, 0x232221201f1e1d1c,
  0x2322212023222120, 0x2322212027262524, 0x232221202b2a2928, 0x232221202f2e2d2c,
  0x2322212033323130, 0x2322212037363534, 0x232221203b3a3938, 0x232221203f3e3d3c,
  0x2726252403020100, 0x2726252407060504, 0x272625240b0a0908, 0x272625240f0e0d0c,
  0x2726252413121110, 0x2726252417161514, 0x272625241b1a1918, 0x272625241f1e1d1c,
  0x2726252423222120, 0x2726252427262524, 0x272625242b2a2928, 0x272625242f2e2d2c,
  0x2726252433323130, 0x2726252437363534, 0x272625243b3a3938, 0x272625243f3e3d3c,
  0x2b2a292803020100, 0x2b2a292807060504, 0x2b2a29280b0a0908, 0x2b2a29280f0e0d0c,
  0x2b2a292813121110, 0x2b2a292817161514, 0x2b2a29281b1a1918, 0x2b2a29281f1e1d1c,
  0x2b2a292823222120, 0x2b2a292827262524, 0x2b2a29282b2a2928, 0x2b2a29282f2e2d2c,
  0x2b2a292833323130, 0x2b2a292837363534, 0x2b2a29283b3a3938, 0x2b2a29283f3e3d3c,
  0x2f2e2d2c03020100, 0x2f2e2d2c07060504, 0x2f2e2d2c0b0a0908, 0x2f2e2d2c0f0e0d0c,
  0x2f2e2d2c13121110, 0x2f2e2d2c17161514, 0x2f2e2d2c1b1a1918, 0x2f2e2d2c1f1e1d1c,
  0x2f2e2d2c23222120, 0x2f2e2d2c27262524, 0x2f2e2d2c2b2a2928, 0x2f2e2d2c2f2e2d2c,
  0x2f2e2d2c33323130, 0x2f2e2d2c37363534, 0x2f2e2d2c3b3a3938, 0x2f2e2d2c3f3e3d3c,
  0x3332313003020100, 0x3332313007060504, 0x333231300b0a0908, 0x333231300f0e0d0c,
  0x3332313013121110, 0x3332313017161514, 0x333231301b1a1918, 0x333231301f1e1d1c,
  0x3332313023222120, 0x3332313027262524, 0x333231302b2a2928, 0x333231302f2e2d2c,
  0x3332313033323130, 0x3332313037363534, 0x333231303b3a3938, 0x333231303f3e3d3c,
  0x3736353403020100, 0x3736353407060504, 0x373635340b0a0908, 0x373635340f0e0d0c,
  0x3736353413121110, 0x3736353417161514, 0x373635341b1a1918, 0x373635341f1e1d1c,
  0x3736353423222120, 0x3736353427262524, 0x373635342b2a2928, 0x373635342f2e2d2c,
  0x3736353433323130, 0x3736353437363534, 0x373635343b3a3938, 0x373635343f3e3d3c,
  0x3b3a393803020100, 0x3b3a393807060504, 0x3b3a39380b0a0908, 0x3b3a39380f0e0d0c,
  0x3b3a393813121110, 0x3b3a393817161514, 0x3b3a39381b1a1918, 0x3b3a39381f1e1d1c,
  0x3b3a393823222120, 0x3b3a393827262524, 0x3b3a39382b2a2928, 0x3b3a39382f2e2d2c,
  0x3b3a393833323130, 0x3b3a393837363534, 0x3b3a39383b3a3938, 0x3b3a39383f3e3d3c,
  0x3f3e3d3c03020100, 0x3f3e3d3c07060504, 0x3f3e3d3c0b0a0908, 0x3f3e3d3c0f0e0d0c,
  0x3f3e3d3c13121110, 0x3f3e3d3c17161514, 0x3f3e3d3c1b1a1918, 0x3f3e3d3c1f1e1d1c,
  0x3f3e3d3c23222120, 0x3f3e3d3c27262524, 0x3f3e3d3c2b2a2928, 0x3f3e3d3c2f2e2d2c,
  0x3f3e3d3c33323130, 0x3f3e3d3c37363534, 0x3f3e3d3c3b3a3938, 0x3f3e3d3c3f3e3d3c,
];

// Four kept activations of one 8-column group, given its u16 metadata and the group's x halves.
@inline function gather48(code: usize, xlo: v128, xhi: v128, pairs: usize, sixteen: v128): v128 {
  let ctrl = v128.load64_zero(pairs + ((code & 255) << 3));
  ctrl = v128.load64_lane(pairs + ((code >> 8) << 3), ctrl, 1);
  return v128.or(i8x16.swizzle(xlo, ctrl), i8x16.swizzle(xhi, i8x16.sub(ctrl, sixteen)));
}

// y[r] for rows [begin, end) of a 4:8 weight with K columns (K % 8 == 0, 4-bit positions). Four
// rows a quarter of the range apart at a time, as nm24_spmv, sharing each group's x loads.
export function nm48_spmv(vals: usize, meta: usize, x: usize, y: usize, K: i32, begin: i32, end: i32): void {
  const groups = <usize>(K >> 3);
  const valsPerRow = groups << 4; // 4 floats per group
  const metaPerRow = groups << 1; // one u16 per group
  const pairs = changetype<usize>(SWIZZLE_PAIRS_48);
  const sixteen = i8x16.splat(16);
  const quarter = (end - begin) >> 2;
  for (let i = 0; i < quarter; i++) {
    const r0 = begin + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
    const v0 = vals + <usize>r0 * valsPerRow, v1 = vals + <usize>r1 * valsPerRow, v2 = vals + <usize>r2 * valsPerRow, v3 = vals + <usize>r3 * valsPerRow;
    const m0 = meta + <usize>r0 * metaPerRow, m1 = meta + <usize>r1 * metaPerRow, m2 = meta + <usize>r2 * metaPerRow, m3 = meta + <usize>r3 * metaPerRow;
    let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
    for (let g: usize = 0; g < groups; g++) {
      const xlo = v128.load(x + (g << 5));
      const xhi = v128.load(x + (g << 5), 16);
      const o = g << 4, mo = g << 1;
      a0 = madd(v128.load(v0 + o), gather48(<usize>load<u16>(m0 + mo), xlo, xhi, pairs, sixteen), a0);
      a1 = madd(v128.load(v1 + o), gather48(<usize>load<u16>(m1 + mo), xlo, xhi, pairs, sixteen), a1);
      a2 = madd(v128.load(v2 + o), gather48(<usize>load<u16>(m2 + mo), xlo, xhi, pairs, sixteen), a2);
      a3 = madd(v128.load(v3 + o), gather48(<usize>load<u16>(m3 + mo), xlo, xhi, pairs, sixteen), a3);
    }
    store<f32>(y + (<usize>r0 << 2), hsum(a0));
    store<f32>(y + (<usize>r1 << 2), hsum(a1));
    store<f32>(y + (<usize>r2 << 2), hsum(a2));
    store<f32>(y + (<usize>r3 << 2), hsum(a3));
  }
  for (let r = begin + (quarter << 2); r < end; r++) {
    const v = vals + <usize>r * valsPerRow, mt = meta + <usize>r * metaPerRow;
    let a = zero();
    for (let g: usize = 0; g < groups; g++) {
      a = madd(v128.load(v + (g << 4)), gather48(<usize>load<u16>(mt + (g << 1)), v128.load(x + (g << 5)), v128.load(x + (g << 5), 16), pairs, sixteen), a);
    }
    store<f32>(y + (<usize>r << 2), hsum(a));
  }
}

// Any n:m, batch 1 per batch item: gathers four kept values' activations at a time. Columns are
// decoded in order with running counters (position bits, group base), never j / n: an integer
// division per kept weight made 4:8 run at a third of the dense GEMV's speed.
@inline function nmRowDot(v: usize, mt: usize, x: usize, kept: i32, n: i32, m: i32, bits: i32): f32 {
  const mask = (1 << bits) - 1;
  let bit = 0;
  let base = 0;
  let inGroup = 0;
  let acc = zero();
  let j = 0;
  for (; j + 4 <= kept; j += 4) {
    let c = base + ((<i32>load<u8>(mt + <usize>(bit >> 3)) >> (bit & 7)) & mask);
    bit += bits;
    if (++inGroup == n) { inGroup = 0; base += m; }
    let g = v128.load32_zero(x + (<usize>c << 2));
    c = base + ((<i32>load<u8>(mt + <usize>(bit >> 3)) >> (bit & 7)) & mask);
    bit += bits;
    if (++inGroup == n) { inGroup = 0; base += m; }
    g = v128.load32_lane(x + (<usize>c << 2), g, 1);
    c = base + ((<i32>load<u8>(mt + <usize>(bit >> 3)) >> (bit & 7)) & mask);
    bit += bits;
    if (++inGroup == n) { inGroup = 0; base += m; }
    g = v128.load32_lane(x + (<usize>c << 2), g, 2);
    c = base + ((<i32>load<u8>(mt + <usize>(bit >> 3)) >> (bit & 7)) & mask);
    bit += bits;
    if (++inGroup == n) { inGroup = 0; base += m; }
    g = v128.load32_lane(x + (<usize>c << 2), g, 3);
    acc = madd(v128.load(v + (<usize>j << 2)), g, acc);
  }
  let sum = hsum(acc);
  for (; j < kept; j++) {
    const c = base + ((<i32>load<u8>(mt + <usize>(bit >> 3)) >> (bit & 7)) & mask);
    bit += bits;
    if (++inGroup == n) { inGroup = 0; base += m; }
    sum += load<f32>(v + (<usize>j << 2)) * load<f32>(x + (<usize>c << 2));
  }
  return sum;
}

export function nm_spmv(
  vals: usize, meta: usize, x: usize, y: usize, K: i32, N: i32, n: i32, m: i32, bits: i32, batch: i32, begin: i32, end: i32,
): void {
  const kept = (K / m) * n;
  const metaPerRow = <usize>((kept * bits + 7) >> 3);
  for (let t = 0; t < batch; t++) {
    const xt = x + ((<usize>t * <usize>K) << 2);
    const yt = y + ((<usize>t * <usize>N) << 2);
    for (let r = begin; r < end; r++) {
      const v = vals + ((<usize>r * <usize>kept) << 2);
      store<f32>(yt + (<usize>r << 2), nmRowDot(v, meta + <usize>r * metaPerRow, xt, kept, n, m, bits));
    }
  }
}

// Column decoding for nm_spmm, one row's kept values to u16 columns. The general case runs
// counters through the packed positions; 2:4 and 4:8 look each metadata byte up in a table of
// the columns it encodes (offsets within its 8 columns) and add the group's base with one SIMD
// add: decoding with counters took about a fifth of the batched product's time (4096x768, batch 128).
const COLUMNS_24: StaticArray<u64> = [ // byte -> 4 u16 offsets within 8 columns (two groups of 4)
  0x0004000400000000, 0x0004000400000001, 0x0004000400000002, 0x0004000400000003,
  0x0004000400010000, 0x0004000400010001, 0x0004000400010002, 0x0004000400010003,
  0x0004000400020000, 0x0004000400020001, 0x0004000400020002, 0x0004000400020003,
  0x0004000400030000, 0x0004000400030001, 0x0004000400030002, 0x0004000400030003,
  0x0004000500000000, 0x0004000500000001, 0x0004000500000002, 0x0004000500000003,
  0x0004000500010000, 0x0004000500010001, 0x0004000500010002, 0x0004000500010003,
  0x0004000500020000, 0x0004000500020001, 0x0004000500020002, 0x0004000500020003,
  0x0004000500030000, 0x0004000500030001, 0x0004000500030002, 0x0004000500030003,
  0x0004000600000000, 0x0004000600000001, 0x0004000600000002, 0x0004000600000003,
  0x0004000600010000, 0x0004000600010001, 0x0004000600010002, 0x0004000600010003,
  0x0004000600020000, 0x0004000600020001, 0x0004000600020002, 0x0004000600020003,
  0x0004000600030000, 0x0004000600030001, 0x0004000600030002, 0x0004000600030003,
  0x0004000700000000, 0x0004000700000001, 0x0004000700000002, 0x0004000700000003,
  0x0004000700010000, 0x0004000700010001, 0x0004000700010002, 0x0004000700010003,
  0x0004000700020000, 0x0004000700020001, 0x0004000700020002, 0x0004000700020003,
  0x0004000700030000, 0x0004000700030001, 0x0004000700030002, 0x0004000700030003,
  0x0005000400000000, 0x0005000400000001, 0x0005000400000002, 0x0005000400000003,
  0x0005000400010000, 0x0005000400010001, 0x0005000400010002, 0x0005000400010003,
  0x0005000400020000, 0x0005000400020001, 0x0005000400020002, 0x0005000400020003,
  0x0005000400030000, 0x0005000400030001, 0x0005000400030002, 0x0005000400030003,
  0x0005000500000000, 0x0005000500000001, 0x0005000500000002, 0x0005000500000003,
  0x0005000500010000, 0x0005000500010001, 0x0005000500010002, 0x0005000500010003,
  0x0005000500020000, 0x0005000500020001, 0x0005000500020002, 0x0005000500020003,
  0x0005000500030000, 0x0005000500030001, 0x0005000500030002, 0x0005000500030003,
  0x0005000600000000, 0x0005000600000001, 0x0005000600000002, 0x0005000600000003,
  0x0005000600010000, 0x0005000600010001, 0x0005000600010002, 0x0005000600010003,
  0x0005000600020000, 0x0005000600020001, 0x0005000600020002, 0x0005000600020003,
  0x0005000600030000, 0x0005000600030001, 0x0005000600030002, 0x0005000600030003,
  0x0005000700000000, 0x0005000700000001, 0x0005000700000002, 0x0005000700000003,
  0x0005000700010000, 0x0005000700010001, 0x0005000700010002, 0x0005000700010003,
  0x0005000700020000, 0x0005000700020001, 0x0005000700020002, 0x0005000700020003,
  0x0005000700030000, 0x0005000700030001, 0x0005000700030002, 0x0005000700030003,
  0x0006000400000000, 0x0006000400000001, 0x0006000400000002, 0x0006000400000003,
  0x0006000400010000, 0x0006000400010001, 0x0006000400010002, 0x0006000400010003,
  0x0006000400020000, 0x0006000400020001, 0x0006000400020002, 0x0006000400020003,
  0x0006000400030000, 0x0006000400030001, 0x0006000400030002, 0x0006000400030003,
  0x0006000500000000, 0x0006000500000001, 0x0006000500000002, 0x0006000500000003,
  0x0006000500010000, 0x0006000500010001, 0x0006000500010002, 0x0006000500010003,
  0x0006000500020000, 0x0006000500020001, 0x0006000500020002, 0x0006000500020003,
  0x0006000500030000, 0x0006000500030001, 0x0006000500030002, 0x0006000500030003,
  0x0006000600000000, 0x0006000600000001, 0x0006000600000002, 0x0006000600000003,
  0x0006000600010000, 0x0006000600010001, 0x0006000600010002, 0x0006000600010003,
  0x0006000600020000, 0x0006000600020001, 0x0006000600020002, 0x0006000600020003,
  0x0006000600030000, 0x0006000600030001, 0x0006000600030002, 0x0006000600030003,
  0x0006000700000000, 0x0006000700000001, 0x0006000700000002, 0x0006000700000003,
  0x0006000700010000, 0x0006000700010001, 0x0006000700010002, 0x0006000700010003,
  0x0006000700020000, 0x0006000700020001, 0x0006000700020002, 0x0006000700020003,
  0x0006000700030000, 0x0006000700030001, 0x0006000700030002, 0x0006000700030003,
  0x0007000400000000, 0x0007000400000001, 0x0007000400000002, 0x0007000400000003,
  0x0007000400010000, 0x0007000400010001, 0x0007000400010002, 0x0007000400010003,
  0x0007000400020000, 0x0007000400020001, 0x0007000400020002, 0x0007000400020003,
  0x0007000400030000, 0x0007000400030001, 0x0007000400030002, 0x0007000400030003,
  0x0007000500000000, 0x0007000500000001, 0x0007000500000002, 0x0007000500000003,
  0x0007000500010000, 0x0007000500010001, 0x0007000500010002, 0x0007000500010003,
  0x0007000500020000, 0x0007000500020001, 0x0007000500020002, 0x0007000500020003,
  0x0007000500030000, 0x0007000500030001, 0x0007000500030002, 0x0007000500030003,
  0x0007000600000000, 0x0007000600000001, 0x0007000600000002, 0x0007000600000003,
  0x0007000600010000, 0x0007000600010001, 0x0007000600010002, 0x0007000600010003,
  0x0007000600020000, 0x0007000600020001, 0x0007000600020002, 0x0007000600020003,
  0x0007000600030000, 0x0007000600030001, 0x0007000600030002, 0x0007000600030003,
  0x0007000700000000, 0x0007000700000001, 0x0007000700000002, 0x0007000700000003,
  0x0007000700010000, 0x0007000700010001, 0x0007000700010002, 0x0007000700010003,
  0x0007000700020000, 0x0007000700020001, 0x0007000700020002, 0x0007000700020003,
  0x0007000700030000, 0x0007000700030001, 0x0007000700030002, 0x0007000700030003,
];
const COLUMNS_48: StaticArray<u32> = [ // byte -> 2 u16 offsets (two 4-bit positions)
  0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x00000004, 0x00000005, 0x00000006, 0x00000007,
  0x00000008, 0x00000009, 0x0000000a, 0x0000000b, 0x0000000c, 0x0000000d, 0x0000000e, 0x0000000f,
  0x00010000, 0x00010001, 0x00010002, 0x00010003, 0x00010004, 0x00010005, 0x00010006, 0x00010007,
  0x00010008, 0x00010009, 0x0001000a, 0x0001000b, 0x0001000c, 0x0001000d, 0x0001000e, 0x0001000f,
  0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020004, 0x00020005, 0x00020006, 0x00020007,
  0x00020008, 0x00020009, 0x0002000a, 0x0002000b, 0x0002000c, 0x0002000d, 0x0002000e, 0x0002000f,
  0x00030000, 0x00030001, 0x00030002, 0x00030003, 0x00030004, 0x00030005, 0x00030006, 0x00030007,
  0x00030008, 0x00030009, 0x0003000a, 0x0003000b, 0x0003000c, 0x0003000d, 0x0003000e, 0x0003000f,
  0x00040000, 0x00040001, 0x00040002, 0x00040003, 0x00040004, 0x00040005, 0x00040006, 0x00040007,
  0x00040008, 0x00040009, 0x0004000a, 0x0004000b, 0x0004000c, 0x0004000d, 0x0004000e, 0x0004000f,
  0x00050000, 0x00050001, 0x00050002, 0x00050003, 0x00050004, 0x00050005, 0x00050006, 0x00050007,
  0x00050008, 0x00050009, 0x0005000a, 0x0005000b, 0x0005000c, 0x0005000d, 0x0005000e, 0x0005000f,
  0x00060000, 0x00060001, 0x00060002, 0x00060003, 0x00060004, 0x00060005, 0x00060006, 0x00060007,
  0x00060008, 0x00060009, 0x0006000a, 0x0006000b, 0x0006000c, 0x0006000d, 0x0006000e, 0x0006000f,
  0x00070000, 0x00070001, 0x00070002, 0x00070003, 0x00070004, 0x00070005, 0x00070006, 0x00070007,
  0x00070008, 0x00070009, 0x0007000a, 0x0007000b, 0x0007000c, 0x0007000d, 0x0007000e, 0x0007000f,
  0x00080000, 0x00080001, 0x00080002, 0x00080003, 0x00080004, 0x00080005, 0x00080006, 0x00080007,
  0x00080008, 0x00080009, 0x0008000a, 0x0008000b, 0x0008000c, 0x0008000d, 0x0008000e, 0x0008000f,
  0x00090000, 0x00090001, 0x00090002, 0x00090003, 0x00090004, 0x00090005, 0x00090006, 0x00090007,
  0x00090008, 0x00090009, 0x0009000a, 0x0009000b, 0x0009000c, 0x0009000d, 0x0009000e, 0x0009000f,
  0x000a0000, 0x000a0001, 0x000a0002, 0x000a0003, 0x000a0004, 0x000a0005, 0x000a0006, 0x000a0007,
  0x000a0008, 0x000a0009, 0x000a000a, 0x000a000b, 0x000a000c, 0x000a000d, 0x000a000e, 0x000a000f,
  0x000b0000, 0x000b0001, 0x000b0002, 0x000b0003, 0x000b0004, 0x000b0005, 0x000b0006, 0x000b0007,
  0x000b0008, 0x000b0009, 0x000b000a, 0x000b000b, 0x000b000c, 0x000b000d, 0x000b000e, 0x000b000f,
  0x000c0000, 0x000c0001, 0x000c0002, 0x000c0003, 0x000c0004, 0x000c0005, 0x000c0006, 0x000c0007,
  0x000c0008, 0x000c0009, 0x000c000a, 0x000c000b, 0x000c000c, 0x000c000d, 0x000c000e, 0x000c000f,
  0x000d0000, 0x000d0001, 0x000d0002, 0x000d0003, 0x000d0004, 0x000d0005, 0x000d0006, 0x000d0007,
  0x000d0008, 0x000d0009, 0x000d000a, 0x000d000b, 0x000d000c, 0x000d000d, 0x000d000e, 0x000d000f,
  0x000e0000, 0x000e0001, 0x000e0002, 0x000e0003, 0x000e0004, 0x000e0005, 0x000e0006, 0x000e0007,
  0x000e0008, 0x000e0009, 0x000e000a, 0x000e000b, 0x000e000c, 0x000e000d, 0x000e000e, 0x000e000f,
  0x000f0000, 0x000f0001, 0x000f0002, 0x000f0003, 0x000f0004, 0x000f0005, 0x000f0006, 0x000f0007,
  0x000f0008, 0x000f0009, 0x000f000a, 0x000f000b, 0x000f000c, 0x000f000d, 0x000f000e, 0x000f000f,
];

@inline function decodeColumns(mt: usize, cols: usize, kept: i32, n: i32, m: i32, bits: i32): void {
  if (n == 2 && m == 4) {
    const table = changetype<usize>(COLUMNS_24);
    const bytes = <usize>(kept >> 2); // 4 kept values per metadata byte
    for (let p: usize = 0; p < bytes; p++) {
      const offsets = v128.load64_zero(table + (<usize>load<u8>(mt + p) << 3));
      v128.store64_lane(cols + (p << 3), i16x8.add(offsets, i16x8.splat(<i16>(p << 3))), 0);
    }
    if (kept & 2) {
      // A last lone group (K % 8 == 4): its two positions are the low nibble of the last byte.
      const code = <i32>load<u8>(mt + bytes);
      const base = <i32>(bytes << 3);
      store<u16>(cols + (bytes << 3), <u16>(base + (code & 3)));
      store<u16>(cols + (bytes << 3), <u16>(base + ((code >> 2) & 3)), 2);
    }
    return;
  }
  if (n == 4 && m == 8 && bits == 4) {
    const table = changetype<usize>(COLUMNS_48);
    const groups = <usize>(kept >> 2); // one u16 of four positions per group
    for (let g: usize = 0; g < groups; g++) {
      const code = <usize>load<u16>(mt + (g << 1));
      let offsets = v128.load32_zero(table + ((code & 255) << 2));
      offsets = v128.load32_lane(table + ((code >> 8) << 2), offsets, 1);
      v128.store64_lane(cols + (g << 3), i16x8.add(offsets, i16x8.splat(<i16>(g << 3))), 0);
    }
    return;
  }
  const mask = (1 << bits) - 1;
  let bit = 0;
  let base = 0;
  let inGroup = 0;
  for (let j = 0; j < kept; j++) {
    store<u16>(cols + (<usize>j << 1), <u16>(base + ((<i32>load<u8>(mt + <usize>(bit >> 3)) >> (bit & 7)) & mask)));
    bit += bits;
    if (++inGroup == n) {
      inGroup = 0;
      base += m;
    }
  }
}

// Any n:m, batched, over x packed in tiles of 16 (transpose.ts): as the CSR kernel, with the
// column of each kept value decoded from its group and position. Rows go in blocks of as many
// as their decoded columns fit in `scratch` (u16 per kept value, per thread; at most
// NM_ROW_BLOCK): the block's columns are decoded once, then every batch tile sweeps the block,
// so one tile of xt (K * 64 bytes) stays in cache while the block's rows use it. Blocks of 16
// rows re-read every tile of xt per 16 rows: 4-8% slower at batch 128 than blocks that fill
// the scratch (4096x768, 4096x4096).
const NM_ROW_BLOCK: i32 = 4096;

export function nm_spmm(
  vals: usize, meta: usize, xt: usize, y: usize, M: i32, N: i32, K: i32, n: i32, m: i32, bits: i32,
  scratch: usize, scratchStride: usize, begin: i32, end: i32, thread: i32,
): void {
  const kept = (K / m) * n;
  const metaPerRow = <usize>((kept * bits + 7) >> 3);
  const tiles = (M + 15) >> 4;
  const tileBytes = (<usize>K) << 6;
  const columns = scratch + <usize>thread * scratchStride;
  const columnsPerRow = <usize>kept << 1;
  const block = max(1, min(NM_ROW_BLOCK, <i32>(scratchStride / columnsPerRow)));
  for (let r0 = begin; r0 < end; r0 += block) {
    const r1 = min(end, r0 + block);
    for (let r = r0; r < r1; r++) decodeColumns(meta + <usize>r * metaPerRow, columns + <usize>(r - r0) * columnsPerRow, kept, n, m, bits);
    for (let tile = 0; tile < tiles; tile++) {
      const xtile = xt + <usize>tile * tileBytes;
      for (let r = r0; r < r1; r++) {
        const v = vals + ((<usize>r * <usize>kept) << 2);
        tileRowProduct<u16>(v, columns + <usize>(r - r0) * columnsPerRow, 0, <usize>kept, xtile, y, N, tile << 4, min(16, M - (tile << 4)), r);
      }
    }
  }
}
