/** A multilayer perceptron: Linear layers with an activation between them (none after the last). */
import { gelu, relu, silu, tanh } from '../autograd/ops/elementwise.js';
import type { Variable } from '../autograd/variable.js';
import { ArgumentError } from '../core/errors.js';
import { Linear } from './linear.js';
import type { ClassifierModel } from './classifier-model.js';
import { childParameters } from './module.js';

export const ACTIVATIONS = { relu, gelu, silu, tanh } as const;
export type ActivationName = keyof typeof ACTIVATIONS;

export class Mlp implements ClassifierModel {
  readonly layers: Linear[];
  private readonly activation: (x: Variable) => Variable;

  /** `sizes` = [inputs, hidden..., outputs]. */
  constructor(
    readonly sizes: readonly number[],
    options: { readonly activation?: ActivationName; readonly seed: number },
  ) {
    if (sizes.length < 2) throw new ArgumentError(`Mlp: needs at least [inputs, outputs], got [${sizes.join(', ')}]`);
    const name = options.activation ?? 'relu';
    if (!(name in ACTIVATIONS)) throw new ArgumentError(`Mlp: unknown activation '${name}'; choose ${Object.keys(ACTIVATIONS).join(', ')}`);
    this.activation = ACTIVATIONS[name];
    this.layers = sizes.slice(1).map((out, i) => new Linear(sizes[i], out, { seed: options.seed + 101 * i }));
  }

  /** [inputs]: an Mlp reads flat feature rows. */
  get inputShape(): readonly number[] {
    return [this.sizes[0]];
  }

  get classes(): number {
    return this.sizes[this.sizes.length - 1];
  }

  forward(x: Variable): Variable {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1) h = this.activation(h);
    });
    return h;
  }

  parameters() {
    return childParameters(this.layers.map((l, i) => [`layers.${i}`, l] as const));
  }
}
