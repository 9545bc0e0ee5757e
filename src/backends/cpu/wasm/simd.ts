// Shared SIMD helpers. Two builds come from these sources: baseline WebAssembly SIMD, where a
// multiply-add is f32x4.mul then f32x4.add (two roundings), and relaxed SIMD, where it is
// f32x4.relaxed_madd (a fused multiply-add on x86 with FMA3 and on Arm). Which one runs is chosen
// at load time (backends/cpu/platform.ts).

// acc + a * b
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

@inline export function hsum(v: v128): f32 {
  // (v0 + v2) + (v1 + v3)
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

@inline export function zero(): v128 {
  return f32x4.splat(0);
}
