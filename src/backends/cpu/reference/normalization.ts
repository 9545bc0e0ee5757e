/** Softmax and norms: references and the CPU path for small inputs. Accumulation in f64. */

/** Splits a shape at `axis` into [outer, n, inner] so one routine serves every axis. */
export function axisSplit(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

/** Stable softmax: subtract the max before exp so large logits cannot overflow. */
export function softmaxReference(x: Float32Array, out: Float32Array, outer: number, n: number, inner: number, log = false): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, x[base + j * inner]);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x[base + j * inner] - m);
      if (log) {
        const logSum = Math.log(s) + m;
        for (let j = 0; j < n; j++) out[base + j * inner] = x[base + j * inner] - logSum;
      } else {
        for (let j = 0; j < n; j++) out[base + j * inner] = Math.exp(x[base + j * inner] - m) / s;
      }
    }
  }
}

/** RMSNorm (Zhang & Sennrich 2019) over rows of length d. */
export function rmsNormReference(x: Float32Array, weight: Float32Array | null, eps: number, out: Float32Array, d: number): void {
  for (let r = 0; r < x.length / d; r++) {
    const base = r * d;
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[base + j] * x[base + j];
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) out[base + j] = x[base + j] * inv * (weight ? weight[j] : 1);
  }
}

/** LayerNorm (Ba et al. 2016) over rows of length d, biased variance. */
export function layerNormReference(
  x: Float32Array,
  weight: Float32Array | null,
  bias: Float32Array | null,
  eps: number,
  out: Float32Array,
  d: number,
): void {
  for (let r = 0; r < x.length / d; r++) {
    const base = r * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x[base + j];
    const mu = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[base + j] - mu) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let j = 0; j < d; j++) out[base + j] = (x[base + j] - mu) * inv * (weight ? weight[j] : 1) + (bias ? bias[j] : 0);
  }
}

/**
 * Rotary embedding over x [rows, T, D] with cos/sin [T, D/2]. Non-interleaved pairs (i, i + D/2)
 * as HF Llama's rotate_half; interleaved pairs (2i, 2i + 1).
 */
export function ropeReference(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  out: Float32Array,
  T: number,
  D: number,
  interleaved: boolean,
): void {
  const half = D / 2;
  const rows = x.length / (T * D);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < T; t++) {
      const base = (r * T + t) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i];
        const s = sin[t * half + i];
        const p = interleaved ? base + 2 * i : base + i;
        const q = interleaved ? p + 1 : p + half;
        const x1 = x[p];
        const x2 = x[q];
        out[p] = x1 * c - x2 * s;
        out[q] = x2 * c + x1 * s;
      }
    }
  }
}
