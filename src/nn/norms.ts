/**
 * Normalisation layers over the last axis, as PyTorch's nn.RMSNorm and nn.LayerNorm: RMSNorm
 * (Zhang & Sennrich 2019) y = x / rms(x) * w; LayerNorm (Ba et al. 2016) y = (x - mean) / std * w + b.
 * Gains start at one and biases at zero, so a fresh layer only normalises.
 */
import { layerNorm, rmsNorm } from '../autograd/ops/nn.js';
import { parameter, type Variable } from '../autograd/variable.js';
import { ArgumentError } from '../core/errors.js';
import { full } from '../core/ops.js';
import type { Module } from './module.js';

export interface NormOptions {
  /** Added to the mean square (variance) before the square root. Default 1e-6 (RMSNorm), 1e-5 (LayerNorm). */
  readonly eps?: number;
  /** Learn a per-feature gain (and, for LayerNorm, bias). Default true. */
  readonly elementwiseAffine?: boolean;
}

function checkDim(layer: string, dim: number, eps: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new ArgumentError(`${layer}: dim must be a positive integer, got ${dim}`);
  if (!(eps >= 0)) throw new ArgumentError(`${layer}: eps must be >= 0, got ${eps}`);
}

export class RMSNorm implements Module {
  readonly weight: Variable | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    options: NormOptions = {},
  ) {
    this.eps = options.eps ?? 1e-6;
    checkDim('RMSNorm', dim, this.eps);
    this.weight = options.elementwiseAffine === false ? null : parameter(full([dim], 1), 'weight');
  }

  /** x [..., dim] -> the same shape. */
  forward(x: Variable): Variable {
    return rmsNorm(x, this.weight, this.eps);
  }

  parameters(): Map<string, Variable> {
    return new Map(this.weight ? [['weight', this.weight]] : []);
  }
}

export class LayerNorm implements Module {
  readonly weight: Variable | null;
  readonly bias: Variable | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    options: NormOptions & { readonly bias?: boolean } = {},
  ) {
    this.eps = options.eps ?? 1e-5;
    checkDim('LayerNorm', dim, this.eps);
    const affine = options.elementwiseAffine !== false;
    this.weight = affine ? parameter(full([dim], 1), 'weight') : null;
    this.bias = affine && options.bias !== false ? parameter(full([dim], 0), 'bias') : null;
  }

  /** x [..., dim] -> the same shape. */
  forward(x: Variable): Variable {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }

  parameters(): Map<string, Variable> {
    const out = new Map<string, Variable>();
    if (this.weight) out.set('weight', this.weight);
    if (this.bias) out.set('bias', this.bias);
    return out;
  }
}
