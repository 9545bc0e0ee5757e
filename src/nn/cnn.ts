/**
 * A small convolutional classifier in the LeNet pattern (LeCun et al. 1998): stages of
 * conv 3x3 ('same' padding) -> ReLU -> 2x2 max pool, then one Linear head over the flattened
 * feature map. Two stages by default (channels [8, 16]): a 28x28 image becomes 16 x 7 x 7.
 */
import { relu } from '../autograd/ops/elementwise.js';
import { maxPool2d } from '../autograd/ops/conv.js';
import { reshape } from '../autograd/ops/layout.js';
import type { Variable } from '../autograd/variable.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import type { ClassifierModel } from './classifier-model.js';
import { Conv2d } from './conv2d.js';
import { Linear } from './linear.js';
import { childParameters } from './module.js';

export interface CnnOptions {
  /** One example, [C, H, W]. */
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** Output channels of each conv stage. Default [8, 16]. */
  readonly channels?: readonly number[];
  /** Odd square kernel size of every conv. Default 3. */
  readonly kernel?: number;
  readonly seed: number;
}

const POOL = 2;

export class Cnn implements ClassifierModel {
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly convs: readonly Conv2d[];
  readonly head: Linear;

  constructor(options: CnnOptions) {
    if (options.inputShape.length !== 3) throw new ShapeError(`Cnn: inputShape must be [C, H, W], got [${options.inputShape.join(', ')}]`);
    const [inChannels, height, width] = options.inputShape;
    const channels = options.channels ?? [8, 16];
    const kernel = options.kernel ?? 3;
    if (channels.length === 0) throw new ArgumentError('Cnn: needs at least one conv stage (channels is empty)');
    if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) throw new ArgumentError(`Cnn: kernel must be an odd positive integer, got ${kernel}`);
    const pooledBy = POOL ** channels.length;
    if (height < pooledBy || width < pooledBy) {
      throw new ShapeError(`Cnn: ${channels.length} pooling stages need images of at least ${pooledBy}x${pooledBy}, got ${height}x${width}`);
    }
    this.inputShape = [...options.inputShape];
    this.classes = options.classes;
    this.convs = channels.map((out, i) => new Conv2d(i === 0 ? inChannels : channels[i - 1], out, { kernel, padding: (kernel - 1) / 2, seed: options.seed + 101 * i }));
    // Each 2x2 pool floors odd sizes, as PyTorch's MaxPool2d.
    let h = height;
    let w = width;
    for (let i = 0; i < channels.length; i++) {
      h = Math.floor(h / POOL);
      w = Math.floor(w / POOL);
    }
    this.head = new Linear(channels[channels.length - 1] * h * w, options.classes, { seed: options.seed + 101 * channels.length });
  }

  /** x [B, C, H, W] -> logits [B, classes]. */
  forward(x: Variable): Variable {
    let h = x;
    for (const conv of this.convs) h = maxPool2d(relu(conv.forward(h)), { kernel: POOL });
    return this.head.forward(reshape(h, [h.shape[0], -1]));
  }

  parameters(): Map<string, Variable> {
    return childParameters([...this.convs.map((c, i) => [`convs.${i}`, c] as const), ['head', this.head] as const]);
  }
}
