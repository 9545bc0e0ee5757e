/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), as PyTorch's
 * torch.optim.AdamW: p -= lr * wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 */
import { ArgumentError } from '../../core/errors.js';
import * as ops from '../../core/ops.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import type { Variable } from '../../autograd/variable.js';
import { assign, buffersState, checkLearningRate, loadBuffersState, type Optimizer, type ParameterBuffers } from './optimizer.js';

export interface AdamWOptions {
  readonly learningRate: number;
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
}

export class AdamW implements Optimizer {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private stepCount = 0;
  private readonly m = new Map<Variable, Tensor>();
  private readonly v = new Map<Variable, Tensor>();

  constructor(
    readonly params: readonly Variable[],
    options: AdamWOptions,
  ) {
    checkLearningRate(options.learningRate, 'AdamW');
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    for (const [name, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new ArgumentError(`AdamW: ${name} must be in [0, 1), got ${b}`);
    }
    if (!(this.eps > 0)) throw new ArgumentError(`AdamW: eps must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new ArgumentError(`AdamW: weight decay must be >= 0, got ${this.weightDecay}`);
    this.learningRate = options.learningRate;
  }

  get steps(): number {
    return this.stepCount;
  }

  step(): void {
    checkLearningRate(this.learningRate, 'AdamW');
    this.stepCount++;
    const t = this.stepCount;
    const lr = this.learningRate;
    const correction1 = 1 - this.beta1 ** t;
    const correction2 = 1 - this.beta2 ** t;
    for (const p of this.params) {
      const g = p.grad;
      if (!g) continue;
      const m = tidy(() => {
        const before = this.m.get(p);
        return before ? ops.add(ops.scale(before, this.beta1), ops.scale(g, 1 - this.beta1)) : ops.scale(g, 1 - this.beta1);
      });
      const v = tidy(() => {
        const before = this.v.get(p);
        const g2 = ops.scale(ops.square(g), 1 - this.beta2);
        return before ? ops.add(ops.scale(before, this.beta2), g2) : g2;
      });
      this.m.get(p)?.dispose();
      this.v.get(p)?.dispose();
      this.m.set(p, m);
      this.v.set(p, v);
      assign(p, () => {
        const decayed = this.weightDecay > 0 ? ops.scale(p.value, 1 - lr * this.weightDecay) : p.value;
        const denom = ops.affine(ops.sqrt(ops.scale(v, 1 / correction2)), 1, this.eps);
        return ops.sub(decayed, ops.div(ops.scale(m, lr / correction1), denom));
      });
    }
  }

  state(): Map<string, Tensor> {
    return buffersState(this.params, this.moments(), this.stepCount);
  }

  async loadState(state: ReadonlyMap<string, Tensor>): Promise<void> {
    this.stepCount = await loadBuffersState('AdamW.loadState', this.params, this.moments(), state);
  }

  private moments(): ParameterBuffers {
    return [
      ['exp_avg', this.m],
      ['exp_avg_sq', this.v],
    ];
  }

  resetStateWhere(param: Variable, keep: Tensor): void {
    for (const moments of [this.m, this.v]) {
      const before = moments.get(param);
      if (!before) continue;
      moments.set(param, ops.mul(before, keep));
      before.dispose();
    }
  }
}
