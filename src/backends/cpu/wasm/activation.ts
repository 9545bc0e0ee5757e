// SiLU (Elfwing et al. 2018; Swish-1): y = x * sigmoid(x), the gate of SwiGLU MLPs, vectorised.
// Reference: core/op-table.ts (silu), through backends/cpu/reference/elementwise.ts. With e =
// exp(-|x|), which never overflows, sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) below.
import { expNonPositive } from './math';

@inline function silu4(v: v128): v128 {
  const e = expNonPositive(f32x4.neg(f32x4.abs(v)));
  const d = f32x4.add(f32x4.splat(1), e);
  const sigmoid = v128.bitselect(f32x4.div(f32x4.splat(1), d), f32x4.div(e, d), f32x4.ge(v, f32x4.splat(0)));
  return f32x4.mul(v, sigmoid);
}

// y[i] = silu(x[i]) for i in [begin, end).
export function silu_f32(x: usize, y: usize, begin: i32, end: i32): void {
  let i = begin;
  for (; i + 4 <= end; i += 4) v128.store(y + (<usize>i << 2), silu4(v128.load(x + (<usize>i << 2))));
  for (; i < end; i++) store<f32>(y + (<usize>i << 2), f32x4.extract_lane(silu4(f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
}
