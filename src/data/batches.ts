/**
 * Mini-batches of a classification dataset for training: each epoch visits every example once,
 * in an order shuffled by a seeded generator (a fresh permutation per epoch), cut into batches
 * of B. The same dataset and seed give the same batches in Node and browsers.
 */
import { ArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { exampleCount, featureCount, type ClassificationDataset } from './dataset.js';

export interface ClassificationBatch {
  /** [size, D] row-major, copied from the dataset. */
  readonly inputs: Float32Array;
  /** [size]. */
  readonly labels: Int32Array;
  /** Examples in this batch: batchSize, or fewer for the last batch of an epoch without dropLast. */
  readonly size: number;
  /** Which dataset rows the batch holds, in batch order. */
  readonly indices: Int32Array;
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based batch number within the epoch. */
  readonly step: number;
}

export interface MiniBatchCommonOptions {
  readonly batchSize: number;
  /** Default 1. */
  readonly epochs?: number;
  /** Leave out the last batch of an epoch when it is smaller than batchSize. Default false. */
  readonly dropLast?: boolean;
}

/**
 * Shuffled (the default) with a required seed, so every run is reproducible; or `shuffle: false`
 * for dataset order (evaluation).
 */
export type MiniBatchOptions = MiniBatchCommonOptions & ({ readonly shuffle?: true; readonly seed: number } | { readonly shuffle: false; readonly seed?: number });

/** Batches per epoch: ceil(N / B), or floor(N / B) with dropLast. */
export function batchesPerEpoch(examples: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(examples / batchSize) : Math.ceil(examples / batchSize);
}

/** The batches of `epochs` passes over `dataset` (see the file comment). Throws on bad options at the call. */
export function miniBatches(dataset: ClassificationDataset, options: MiniBatchOptions): Generator<ClassificationBatch> {
  // Checked here, not inside the generator, so bad options throw at the call rather than at the first next().
  const { batchSize, epochs = 1, shuffle = true, dropLast = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(epochs) || epochs < 0) throw new ArgumentError(`epochs must be a non-negative integer, got ${epochs}`);
  if (shuffle && options.seed === undefined) throw new ArgumentError('miniBatches: a seed is required when shuffling (pass shuffle: false for dataset order)');
  const n = exampleCount(dataset);
  const d = featureCount(dataset);
  if (dataset.inputs.length !== n * d) throw new ArgumentError(`dataset: inputs hold ${dataset.inputs.length} values, ${n} examples of ${d} need ${n * d}`);
  return epochsOfBatches(dataset, { batchSize, epochs, shuffle, dropLast, seed: options.seed ?? 0 });
}

interface CheckedBatchOptions {
  readonly batchSize: number;
  readonly epochs: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
}

function* epochsOfBatches(dataset: ClassificationDataset, options: CheckedBatchOptions): Generator<ClassificationBatch> {
  const { batchSize, epochs, shuffle, dropLast } = options;
  const n = exampleCount(dataset);
  const d = featureCount(dataset);
  const rng = new Random(options.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const perEpoch = batchesPerEpoch(n, batchSize, dropLast);
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (shuffle) rng.shuffle(order);
    for (let step = 0; step < perEpoch; step++) {
      const indices = Int32Array.from(order.slice(step * batchSize, Math.min((step + 1) * batchSize, n)));
      const size = indices.length;
      const inputs = new Float32Array(size * d);
      const labels = new Int32Array(size);
      for (let b = 0; b < size; b++) {
        const row = indices[b];
        inputs.set(dataset.inputs.subarray(row * d, (row + 1) * d), b * d);
        labels[b] = dataset.labels[row];
      }
      yield { inputs, labels, size, indices, epoch, step };
    }
  }
}
