/**
 * Classification with any classifier module (an Mlp over flat features, a CNN over images):
 * seeded shuffled mini-batches, cross-entropy, test accuracy. Every weight of rank >= 2 is a
 * sparse-trainable layer ([out, in], or a convolution [out, in, kh, kw] as [out, in kh kw]).
 */
import * as ag from '../../autograd/index.js';
import { ArgumentError } from '../../core/errors.js';
import { tensor } from '../../core/ops.js';
import { miniBatches, type ClassificationBatch } from '../../data/batches.js';
import { type ClassificationDataset, exampleCount, featureCount } from '../../data/dataset.js';
import type { ClassifierModel } from '../../nn/classifier-model.js';
import { accuracy } from '../classifier.js';
import type { TrainingBatchLoss, TrainingEvaluation, TrainingTask } from '../task.js';
import type { SparseLayer } from '../types.js';

export interface ClassificationTaskOptions {
  readonly model: ClassifierModel;
  readonly train: ClassificationDataset;
  readonly test: ClassificationDataset;
  readonly batchSize: number;
  readonly seed: number;
}

/** The weights of rank >= 2 of a module, as sparse layers. */
export function moduleSparseLayers(model: ClassifierModel): SparseLayer[] {
  const layers: SparseLayer[] = [];
  for (const [name, param] of model.parameters()) {
    if (param.shape.length < 2 || !name.endsWith('weight')) continue;
    const [rows, ...rest] = param.shape;
    const kernel = rest.length === 3 ? ([rest[1], rest[2]] as const) : undefined;
    layers.push({ name, param, rows, cols: rest.reduce((a, b) => a * b, 1), ...(kernel ? { kernel } : {}) });
  }
  return layers;
}

export class ClassificationTask implements TrainingTask {
  readonly kind = 'classification';
  readonly itemUnit = 'examples';
  readonly parameters: Map<string, ag.Variable>;
  readonly sparseLayers: SparseLayer[];
  private batches: Generator<ClassificationBatch>;
  private drawn = 0;

  constructor(private readonly options: ClassificationTaskOptions) {
    const { model, train, batchSize } = options;
    const features = model.inputShape.reduce((a, b) => a * b, 1);
    if (featureCount(train) !== features) throw new ArgumentError(`classification: the model takes ${features} features, the data has ${featureCount(train)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > exampleCount(train)) {
      throw new ArgumentError(`classification: batchSize must be an integer in [1, ${exampleCount(train)}] (the training examples), got ${batchSize}`);
    }
    this.parameters = model.parameters();
    this.sparseLayers = moduleSparseLayers(model);
    this.batches = this.freshBatches();
  }

  private freshBatches(): Generator<ClassificationBatch> {
    return miniBatches(this.options.train, { batchSize: this.options.batchSize, epochs: Number.MAX_SAFE_INTEGER, seed: this.options.seed, dropLast: true });
  }

  nextLoss(): TrainingBatchLoss {
    const batch = this.batches.next().value as ClassificationBatch;
    this.drawn++;
    const { model } = this.options;
    const x = ag.constant(tensor(batch.inputs, [batch.size, ...model.inputShape]));
    const y = tensor(batch.labels, [batch.size], 'i32');
    const loss = ag.crossEntropy(model.forward(x), y);
    return {
      loss,
      items: batch.size,
      dispose: () => {
        x.value.dispose();
        y.dispose();
      },
    };
  }

  async evaluate(): Promise<TrainingEvaluation> {
    return { metric: 'testAccuracy', value: await accuracy(this.options.model, this.options.test), higherIsBetter: true };
  }

  /** Batches drawn so far: the shuffled order is replayed from the seed on resume. */
  dataState(): number[] {
    return [this.drawn];
  }

  restoreDataState(state: readonly number[]): void {
    const [drawn] = state;
    this.batches = this.freshBatches();
    for (let i = 0; i < drawn; i++) this.batches.next();
    this.drawn = drawn;
  }
}
