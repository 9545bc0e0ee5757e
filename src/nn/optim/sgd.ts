/**
 * SGD with momentum (Polyak's heavy ball; Nesterov optional) and L2 weight decay, as PyTorch's
 * torch.optim.SGD: g += wd p; b = mu b + (1 - dampening) g (b = g at the first step);
 * g = nesterov ? g + mu b : b; p -= lr g.
 */
import { ArgumentError } from '../../core/errors.js';
import * as ops from '../../core/ops.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import type { Variable } from '../../autograd/variable.js';
import { assign, buffersState, checkLearningRate, loadBuffersState, type Optimizer } from './optimizer.js';

export interface SgdOptions {
  readonly learningRate: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
}

export class Sgd implements Optimizer {
  learningRate: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private stepCount = 0;
  private readonly buffers = new Map<Variable, Tensor>();

  constructor(
    readonly params: readonly Variable[],
    options: SgdOptions,
  ) {
    checkLearningRate(options.learningRate, 'SGD');
    this.learningRate = options.learningRate;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new ArgumentError(`SGD: momentum must be >= 0, got ${this.momentum}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new ArgumentError('SGD: Nesterov momentum needs momentum > 0 and zero dampening');
  }

  get steps(): number {
    return this.stepCount;
  }

  step(): void {
    checkLearningRate(this.learningRate, 'SGD');
    this.stepCount++;
    for (const p of this.params) {
      const grad = p.grad;
      if (!grad) continue;
      const g = tidy(() => (this.weightDecay > 0 ? ops.add(grad, ops.scale(p.value, this.weightDecay)) : grad.reshape(grad.shape)));
      let direction = g;
      if (this.momentum > 0) {
        const before = this.buffers.get(p);
        const buffer = before ? tidy(() => ops.add(ops.scale(before, this.momentum), ops.scale(g, 1 - this.dampening))) : ops.scale(g, 1);
        before?.dispose();
        this.buffers.set(p, buffer);
        direction = this.nesterov ? ops.add(g, ops.scale(buffer, this.momentum)) : buffer.reshape(buffer.shape);
        g.dispose();
      }
      assign(p, () => ops.sub(p.value, ops.scale(direction, this.learningRate)));
      direction.dispose();
    }
  }

  state(): Map<string, Tensor> {
    return buffersState(this.params, [['momentum_buffer', this.buffers]], this.stepCount);
  }

  async loadState(state: ReadonlyMap<string, Tensor>): Promise<void> {
    this.stepCount = await loadBuffersState('SGD.loadState', this.params, [['momentum_buffer', this.buffers]], state);
  }

  resetStateWhere(param: Variable, keep: Tensor): void {
    const before = this.buffers.get(param);
    if (!before) return;
    this.buffers.set(param, ops.mul(before, keep));
    before.dispose();
  }
}
