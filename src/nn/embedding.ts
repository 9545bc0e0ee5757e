/**
 * Embedding table [V, D] looked up by integer ids, as PyTorch's nn.Embedding (weights N(0, 1),
 * seeded here).
 */
import { embedding } from '../autograd/ops/nn.js';
import { parameter, type Variable } from '../autograd/variable.js';
import { ArgumentError } from '../core/errors.js';
import { randomNormal } from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';
import type { Module } from './module.js';

export class Embedding implements Module {
  readonly weight: Variable;

  constructor(
    readonly vocabSize: number,
    readonly dim: number,
    options: { readonly seed: number; readonly std?: number },
  ) {
    if (!Number.isInteger(vocabSize) || !Number.isInteger(dim) || vocabSize < 1 || dim < 1) {
      throw new ArgumentError(`Embedding: sizes must be positive integers, got ${vocabSize} x ${dim}`);
    }
    this.weight = parameter(randomNormal([vocabSize, dim], options.seed, options.std ?? 1), 'weight');
  }

  /** ids [...] (i32, u16 or u8) -> [..., dim]. */
  forward(ids: Tensor): Variable {
    return embedding(this.weight, ids);
  }

  parameters(): Map<string, Variable> {
    return new Map([['weight', this.weight]]);
  }
}
