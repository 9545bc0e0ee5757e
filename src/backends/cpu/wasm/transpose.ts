// Packs activations X [M, K] into tiles of 16 batch columns, xt[tile][k][16] (zero-padded past M),
// so that a sparse kernel's nonzero at column k finds the 16 activations it multiplies in one
// contiguous 64-byte line. Partitioned over k.
export function pack_x_tiles16(x: usize, xt: usize, M: i32, K: i32, begin: i32, end: i32): void {
  const tiles = (M + 15) >> 4;
  for (let tile = 0; tile < tiles; tile++) {
    const m0 = tile << 4;
    const mCount = min(16, M - m0);
    const dstTile = xt + ((<usize>tile * <usize>K) << 6);
    for (let k = begin; k < end; k++) {
      const dst = dstTile + (<usize>k << 6);
      let i = 0;
      for (; i < mCount; i++) store<f32>(dst + (<usize>i << 2), load<f32>(x + ((<usize>(m0 + i) * <usize>K + <usize>k) << 2)));
      for (; i < 16; i++) store<f32>(dst + (<usize>i << 2), 0);
    }
  }
}
