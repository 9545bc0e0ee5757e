import type { Backend } from './backend.js';
import { ArgumentError } from './errors.js';
import { tensor } from './ops.js';
import type { Tensor } from './tensor.js';

const f32 = Math.fround;

/** Llama 3's frequency-dependent rescaling of RoPE (HF `rope_scaling.rope_type == "llama3"`). */
export interface Llama3RopeScaling {
  readonly type: 'llama3';
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositionEmbeddings: number;
}

export interface RopeConfig {
  /** Rotated dims per head (even). */
  readonly dim: number;
  /** Base of the geometric frequencies, theta in RoFormer (10000 in Llama 2, 500000 in Llama 3). */
  readonly theta: number;
  readonly scaling?: Llama3RopeScaling | { readonly type: 'linear'; readonly factor: number } | null;
}

/**
 * Inverse frequencies 1 / theta^(2i/d), i < d/2, after the configured scaling. Each step is
 * rounded to f32 as PyTorch computes it, so positions far out give the same angles as HF.
 */
export function ropeInverseFrequencies(config: RopeConfig): Float64Array {
  const { dim, theta, scaling } = config;
  if (dim <= 0 || dim % 2 !== 0) throw new ArgumentError(`rope: dim must be positive and even, got ${dim}`);
  const half = dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = f32(1 / f32(Math.pow(theta, f32((2 * i) / dim))));
  if (!scaling) return inv;
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f32(inv[i] / scaling.factor);
    return inv;
  }
  // Llama 3.1: wavelengths longer than original/lowFreqFactor are divided by `factor`, shorter
  // than original/highFreqFactor are kept, and the band between is interpolated smoothly.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: original } = scaling;
  const lowFreqWavelen = original / lowFreqFactor;
  const highFreqWavelen = original / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) inv[i] = f32(inv[i] / factor);
    else if (wavelen >= highFreqWavelen) {
      const smooth = (original / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      inv[i] = f32((1 - smooth) * (inv[i] / factor) + smooth * inv[i]);
    }
  }
  return inv;
}

/**
 * cos and sin tables [positions.length * repeat, dim/2] for the given absolute positions, each
 * position's row repeated `repeat` times (one row per head of x [T, heads, D] viewed as
 * [T * heads, D], as the rope op takes it).
 */
export function ropeTables(
  positions: ArrayLike<number>,
  config: RopeConfig,
  backend?: Backend,
  repeat = 1,
): { cos: Tensor; sin: Tensor } {
  const inv = ropeInverseFrequencies(config);
  const half = inv.length;
  const rows = positions.length * repeat;
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  for (let t = 0; t < positions.length; t++) {
    const base = t * repeat * half;
    for (let i = 0; i < half; i++) {
      const angle = f32(positions[t] * inv[i]);
      cos[base + i] = Math.cos(angle);
      sin[base + i] = Math.sin(angle);
    }
    for (let r = 1; r < repeat; r++) {
      cos.copyWithin(base + r * half, base, base + half);
      sin.copyWithin(base + r * half, base, base + half);
    }
  }
  const shape = [rows, half];
  return { cos: tensor(cos, shape, 'f32', backend), sin: tensor(sin, shape, 'f32', backend) };
}
