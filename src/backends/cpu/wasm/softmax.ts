// Softmax along contiguous rows: y = exp(x - max) / sum exp(x - max) (the max subtraction keeps
// large logits from overflowing), and log-softmax y = x - max - log(sum). Reference:
// backends/cpu/reference/normalization.ts (softmaxReference). exp is Cephes' expf, vectorised (math.ts).
import { expShiftedSum, rowMax } from './math';

// Rows [begin, end) of length n. log != 0 computes log-softmax.
export function softmax_rows(x: usize, y: usize, n: i32, log: i32, begin: i32, end: i32): void {
  const rowBytes = <usize>n << 2;
  for (let r = begin; r < end; r++) {
    const xr = x + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    const m = rowMax(xr, n);
    if (m == -Infinity) {
      // An all -inf row (fully masked attention): no distribution exists; emit NaN as the reference does.
      for (let j = 0; j < n; j++) store<f32>(yr + (<usize>j << 2), NaN);
      continue;
    }
    const sum = expShiftedSum(xr, yr, n, m);
    if (log) {
      const shift = f32x4.splat(<f32>(<f64>m + Math.log(sum)));
      let j = 0;
      for (; j + 4 <= n; j += 4) v128.store(yr + (<usize>j << 2), f32x4.sub(v128.load(xr + (<usize>j << 2)), shift));
      for (; j < n; j++) store<f32>(yr + (<usize>j << 2), load<f32>(xr + (<usize>j << 2)) - f32x4.extract_lane(shift, 0));
    } else {
      const inv = f32x4.splat(<f32>(1 / sum));
      let j = 0;
      for (; j + 4 <= n; j += 4) v128.store(yr + (<usize>j << 2), f32x4.mul(v128.load(yr + (<usize>j << 2)), inv));
      for (; j < n; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) * f32x4.extract_lane(inv, 0));
    }
  }
}
