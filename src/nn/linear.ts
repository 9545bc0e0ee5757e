/**
 * Linear layer y = x W^T + b, W [out, in] as PyTorch's nn.Linear, initialised as PyTorch does:
 * W and b uniform in +-1/sqrt(in) (kaiming_uniform with a = sqrt(5)).
 */
import { linear } from '../autograd/ops/linalg.js';
import { parameter, type Variable } from '../autograd/variable.js';
import { ArgumentError } from '../core/errors.js';
import { randomUniform } from '../core/ops.js';
import type { Module } from './module.js';

export interface LinearOptions {
  readonly bias?: boolean;
  readonly seed: number;
}

export class Linear implements Module {
  readonly weight: Variable;
  readonly bias: Variable | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions,
  ) {
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures < 1 || outFeatures < 1) {
      throw new ArgumentError(`Linear: sizes must be positive integers, got ${inFeatures} -> ${outFeatures}`);
    }
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = parameter(randomUniform([outFeatures, inFeatures], options.seed, -bound, bound), 'weight');
    this.bias = options.bias === false ? null : parameter(randomUniform([outFeatures], options.seed + 1, -bound, bound), 'bias');
  }

  forward(x: Variable): Variable {
    return linear(x, this.weight, this.bias);
  }

  parameters(): Map<string, Variable> {
    const out = new Map([['weight', this.weight]]);
    if (this.bias) out.set('bias', this.bias);
    return out;
  }
}
