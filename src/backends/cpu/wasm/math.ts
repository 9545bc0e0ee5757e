// Math shared by the kernels that take a softmax (softmax.ts, attention.ts): one copy of the
// vectorised exp and of the max / exp-sum passes over a row.

// exp(x) for x <= 0 (softmax inputs after the max subtraction), f32x4. Cephes expf: n = round(x
// log2 e); r = x - n ln 2 in two steps (Cody-Waite); e^r by a degree-5 polynomial; 2^n by adding
// n to the exponent bits. Error within 2 ulp; below -87.3 (including -inf) the result is 0.
@inline export function expNonPositive(x: v128): v128 {
  const tiny = f32x4.lt(x, f32x4.splat(-87.3));
  const xc = f32x4.max(x, f32x4.splat(-87.3));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  const er = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  // 2^n: n in [-126, 0] here, added to the exponent field.
  const scaled = i32x4.add(er, i32x4.shl(i32x4.trunc_sat_f32x4_s(n), 23));
  return v128.andnot(scaled, tiny);
}

// max of x[0..n) (-inf for n = 0).
@inline export function rowMax(x: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) m = f32x4.max(m, v128.load(x + (<usize>j << 2)));
  let s = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; j < n; j++) s = max(s, load<f32>(x + (<usize>j << 2)));
  return s;
}

// Writes exp(x - m) to y (which may be x) and returns its sum (accumulated in f32x4, then f64
// across lanes).
@inline export function expShiftedSum(x: usize, y: usize, n: i32, m: f32): f64 {
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = expNonPositive(f32x4.sub(v128.load(x + (<usize>j << 2)), mv));
    v128.store(y + (<usize>j << 2), e);
    acc = f32x4.add(acc, e);
  }
  let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; j < n; j++) {
    const e = f32x4.extract_lane(expNonPositive(f32x4.splat(load<f32>(x + (<usize>j << 2)) - m)), 0);
    store<f32>(y + (<usize>j << 2), e);
    s += e;
  }
  return s;
}
