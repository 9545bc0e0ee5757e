/**
 * 2-D convolution layer, weight [O, C, kh, kw] as PyTorch's nn.Conv2d, initialised as PyTorch
 * does: W and b uniform in +-1/sqrt(fan_in), fan_in = C kh kw (kaiming_uniform with a = sqrt(5)).
 */
import { conv2d, type Conv2dOptions, type Pair } from '../autograd/ops/conv.js';
import { parameter, type Variable } from '../autograd/variable.js';
import { ArgumentError } from '../core/errors.js';
import { randomUniform } from '../core/ops.js';
import type { Module } from './module.js';

export interface Conv2dLayerOptions extends Conv2dOptions {
  /** Kernel height and width, or one size for both. */
  readonly kernel: Pair;
  readonly bias?: boolean;
  readonly seed: number;
}

export class Conv2d implements Module {
  readonly weight: Variable;
  readonly bias: Variable | null;
  /** [kh, kw]. */
  readonly kernel: readonly [number, number];
  private readonly geometry: Conv2dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: Conv2dLayerOptions,
  ) {
    const [kh, kw] = typeof options.kernel === 'number' ? [options.kernel, options.kernel] : options.kernel;
    for (const [name, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernel height', kh], ['kernel width', kw]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`Conv2d: ${name} must be a positive integer, got ${v}`);
    }
    this.kernel = [kh, kw];
    this.geometry = { stride: options.stride ?? 1, padding: options.padding ?? 0 };
    const bound = 1 / Math.sqrt(inChannels * kh * kw);
    this.weight = parameter(randomUniform([outChannels, inChannels, kh, kw], options.seed, -bound, bound), 'weight');
    this.bias = options.bias === false ? null : parameter(randomUniform([outChannels], options.seed + 1, -bound, bound), 'bias');
  }

  /** x [B, C, H, W] -> [B, O, Ho, Wo]. */
  forward(x: Variable): Variable {
    return conv2d(x, this.weight, this.bias, this.geometry);
  }

  parameters(): Map<string, Variable> {
    const out = new Map([['weight', this.weight]]);
    if (this.bias) out.set('bias', this.bias);
    return out;
  }
}
