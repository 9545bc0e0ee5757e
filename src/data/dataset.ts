/**
 * The one shape every classification source here produces (IDX, CIFAR-10, synthetic tasks), so a
 * training loop reads MNIST, CIFAR-10 and the teacher task through the same code.
 */
import { ArgumentError } from '../core/errors.js';

export interface ClassificationDataset {
  /** N examples of D features each, row-major [N, D], D = product of `shape`. */
  readonly inputs: Float32Array;
  /** N class ids in [0, classes). */
  readonly labels: Int32Array;
  /** Number of classes: the width of a model's output layer. */
  readonly classes: number;
  /** Shape of one example ([H, W] for grey images, [C, H, W] for colour, [D] for vectors). */
  readonly shape: readonly number[];
}

/** N, the number of examples. */
export function exampleCount(dataset: ClassificationDataset): number {
  return dataset.labels.length;
}

/** D, the features per example: the product of the example shape. */
export function featureCount(dataset: ClassificationDataset): number {
  return dataset.shape.reduce((a, b) => a * b, 1);
}

/**
 * Throws an ArgumentError when the parts of `dataset` disagree (inputs not N x D, a label outside
 * [0, classes)): a check for datasets built by hand before they reach a training loop.
 */
export function checkClassificationDataset(dataset: ClassificationDataset): void {
  const n = exampleCount(dataset);
  const d = featureCount(dataset);
  if (!Number.isInteger(dataset.classes) || dataset.classes < 1) throw new ArgumentError(`dataset: classes must be a positive integer, got ${dataset.classes}`);
  if (dataset.inputs.length !== n * d) {
    throw new ArgumentError(`dataset: inputs hold ${dataset.inputs.length} values; ${n} examples of shape [${dataset.shape.join(', ')}] need ${n * d}`);
  }
  for (let i = 0; i < n; i++) {
    const label = dataset.labels[i];
    if (label < 0 || label >= dataset.classes) throw new ArgumentError(`dataset: example ${i} has label ${label}, outside [0, ${dataset.classes})`);
  }
}
