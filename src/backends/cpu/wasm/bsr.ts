// Block-sparse rows (BSR) weight x dense activations. Blocks are br x bc and stored column-major
// (element (i, k) of a block at k*br + i), so for each input column k the block contributes a
// contiguous column of br outputs: y[r0:r0+br] += x[c0+k] * block[:, k]. No horizontal sums.
// Requires br % 4 == 0 (the backend falls back to the reference otherwise).
// Reference: src/sparse/reference.ts (bsrLinearReference).
import { madd, zero } from './simd';
import { storeColumn } from './csr';

// Batch 1 per batch item, block rows [begin, end).
export function bsr_spmv(
  rowPtr: usize, colIdx: usize, vals: usize, x: usize, y: usize, K: i32, N: i32, br: i32, bc: i32, batch: i32, begin: i32, end: i32,
): void {
  const blockBytes = (<usize>(br * bc)) << 2;
  const colBytes = <usize>br << 2;
  for (let t = 0; t < batch; t++) {
    const xb = x + ((<usize>t * <usize>K) << 2);
    const yb = y + ((<usize>t * <usize>N) << 2);
    for (let R = begin; R < end; R++) {
      const b0 = <usize>load<i32>(rowPtr + (<usize>R << 2));
      const b1 = <usize>load<i32>(rowPtr + (<usize>R << 2), 4);
      const yr = yb + ((<usize>R * <usize>br) << 2);
      // Four row-quads (16 outputs) at a time keep four independent accumulators busy.
      let q = 0;
      for (; q + 4 <= br >> 2; q += 4) {
        let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
        for (let blk = b0; blk < b1; blk++) {
          const xs = xb + ((<usize>load<i32>(colIdx + (blk << 2)) * <usize>bc) << 2);
          let col = vals + blk * blockBytes + (<usize>q << 4);
          for (let k = 0; k < bc; k++) {
            const s = v128.load32_splat(xs + (<usize>k << 2));
            a0 = madd(s, v128.load(col), a0);
            a1 = madd(s, v128.load(col, 16), a1);
            a2 = madd(s, v128.load(col, 32), a2);
            a3 = madd(s, v128.load(col, 48), a3);
            col += colBytes;
          }
        }
        const d = yr + (<usize>q << 4);
        v128.store(d, a0);
        v128.store(d, a1, 16);
        v128.store(d, a2, 32);
        v128.store(d, a3, 48);
      }
      // Remaining quads one at a time, two accumulators over alternating k.
      for (; q < br >> 2; q++) {
        let a0 = zero(), a1 = zero();
        for (let blk = b0; blk < b1; blk++) {
          const xs = xb + ((<usize>load<i32>(colIdx + (blk << 2)) * <usize>bc) << 2);
          let col = vals + blk * blockBytes + (<usize>q << 4);
          let k = 0;
          for (; k + 2 <= bc; k += 2) {
            a0 = madd(v128.load32_splat(xs + (<usize>k << 2)), v128.load(col), a0);
            a1 = madd(v128.load32_splat(xs + (<usize>k << 2), 4), v128.load(col + colBytes), a1);
            col += colBytes << 1;
          }
          if (k < bc) a0 = madd(v128.load32_splat(xs + (<usize>k << 2)), v128.load(col), a0);
        }
        v128.store(yr + (<usize>q << 4), f32x4.add(a0, a1));
      }
    }
  }
}

// Batched over x packed in tiles of 16 (transpose.ts): for each output row of a block row, each
// stored weight w[i, k] adds w * xt[tile][c0 + k][:] to 16 batch accumulators.
export function bsr_spmm(
  rowPtr: usize, colIdx: usize, vals: usize, xt: usize, y: usize, M: i32, N: i32, K: i32, br: i32, bc: i32, begin: i32, end: i32,
): void {
  const blockBytes = (<usize>(br * bc)) << 2;
  const colBytes = <usize>br << 2;
  const tiles = (M + 15) >> 4;
  const tileBytes = (<usize>K) << 6;
  for (let tile = 0; tile < tiles; tile++) {
    const xtile = xt + <usize>tile * tileBytes;
    const m0 = tile << 4;
    for (let R = begin; R < end; R++) {
      const b0 = <usize>load<i32>(rowPtr + (<usize>R << 2));
      const b1 = <usize>load<i32>(rowPtr + (<usize>R << 2), 4);
      for (let i = 0; i < br; i++) {
        let a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
        for (let blk = b0; blk < b1; blk++) {
          let src = xtile + ((<usize>load<i32>(colIdx + (blk << 2)) * <usize>bc) << 6);
          let w = vals + blk * blockBytes + (<usize>i << 2);
          for (let k = 0; k < bc; k++) {
            const s = v128.load32_splat(w);
            a0 = madd(s, v128.load(src), a0);
            a1 = madd(s, v128.load(src, 16), a1);
            a2 = madd(s, v128.load(src, 32), a2);
            a3 = madd(s, v128.load(src, 48), a3);
            w += colBytes;
            src += 64;
          }
        }
        storeColumn(y, N, m0, min(16, M - m0), R * br + i, a0, a1, a2, a3);
      }
    }
  }
}
