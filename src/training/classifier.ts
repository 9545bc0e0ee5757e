/**
 * Training a classifier (any ClassifierModel: an Mlp over flat features, a CNN over images) with
 * an optional sparsity controller, through the shared trainer (trainer.ts) on a
 * ClassificationTask: mini-batches, cross-entropy, optional clipping, masked optimizer step,
 * scheduled learning rate; test accuracy at the end. Also the accuracy measure the task reports.
 */
import * as ag from '../autograd/index.js';
import { ArgumentError } from '../core/errors.js';
import { argmax, tensor } from '../core/ops.js';
import { tidy } from '../core/tensor.js';
import { type ClassificationDataset, exampleCount, featureCount } from '../data/dataset.js';
import type { ClassifierModel } from '../nn/classifier-model.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import type { LearningRateSchedule } from '../nn/optim/schedule.js';
import type { TrainingSparsityHook } from './hook.js';
import { ClassificationTask } from './tasks/classification.js';
import { type StepRecord, train } from './trainer.js';

export interface ClassifierTrainingOptions {
  /** Batches reach it as [B, ...model.inputShape]. */
  readonly model: ClassifierModel;
  readonly train: ClassificationDataset;
  readonly test: ClassificationDataset;
  readonly optimizer: Optimizer;
  readonly steps: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly schedule?: LearningRateSchedule;
  /** A SparsityController, or anything with its four training-loop calls. */
  readonly controller?: TrainingSparsityHook;
  readonly clipNorm?: number;
  /** Called every `progressEvery` steps (default 50). */
  readonly onProgress?: (progress: { step: number; loss: number; sparsity: number; examplesPerS: number }) => void;
  readonly progressEvery?: number;
}

export interface ClassifierTrainingResult {
  readonly testAccuracy: number;
  /** Mean training loss over the last 10% of steps. */
  readonly finalLoss: number;
  readonly losses: readonly { step: number; loss: number }[];
  readonly examplesPerS: number;
  readonly sparsity: number;
  readonly steps: number;
}

/** trainClassifier is the shared trainer (trainer.ts) over a ClassificationTask, with test accuracy at the end. */
export async function trainClassifier(options: ClassifierTrainingOptions): Promise<ClassifierTrainingResult> {
  const { model, train: trainSet, test, optimizer, steps, batchSize, controller } = options;
  checkFits(model, trainSet);
  const task = new ClassificationTask({ model, train: trainSet, test, batchSize, seed: options.seed });
  const every = options.progressEvery ?? 50;
  const onProgress = options.onProgress;
  const result = await train({
    task,
    optimizer,
    steps,
    ...(options.schedule ? { schedule: options.schedule } : {}),
    ...(controller ? { controller } : {}),
    ...(options.clipNorm ? { clipNorm: options.clipNorm } : {}),
    ...(onProgress
      ? { onStep: (r: StepRecord) => (r.step % every === 0 || r.step === steps) && onProgress({ step: r.step, loss: r.loss, sparsity: r.sparsity, examplesPerS: r.itemsPerS }) }
      : {}),
  });
  const { losses } = result;
  const tail = losses.slice(Math.floor(losses.length * 0.9));
  return {
    testAccuracy: result.evaluations[result.evaluations.length - 1].value,
    finalLoss: tail.reduce((s, l) => s + l.loss, 0) / tail.length,
    losses,
    examplesPerS: result.itemsPerS,
    sparsity: result.sparsity,
    steps,
  };
}

/**
 * Throws unless the dataset's examples fill the model's input shape (a [28, 28] image fits a
 * [784] Mlp and a [1, 28, 28] CNN) and its labels fit the model's outputs.
 */
function checkFits(model: ClassifierModel, data: ClassificationDataset): void {
  const features = model.inputShape.reduce((a, b) => a * b, 1);
  if (featureCount(data) !== features) {
    throw new ArgumentError(`training: the model takes [${model.inputShape.join(', ')}] (${features} features), the data has [${data.shape.join(', ')}] (${featureCount(data)})`);
  }
  if (data.classes > model.classes) throw new ArgumentError(`training: the data has ${data.classes} classes, the model only ${model.classes} outputs`);
}

/** Fraction of `data` the model classifies correctly (argmax of its logits). */
export async function accuracy(model: ClassifierModel, data: ClassificationDataset, batchSize = 1024): Promise<number> {
  checkFits(model, data);
  const n = exampleCount(data);
  const d = featureCount(data);
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const predicted = tidy(() =>
      ag.noGrad(() => argmax(model.forward(ag.constant(tensor(data.inputs.subarray(start * d, (start + size) * d), [size, ...model.inputShape]))).value, 1)),
    );
    const p = (await predicted.read()) as Int32Array;
    predicted.dispose();
    for (let i = 0; i < size; i++) if (p[i] === data.labels[start + i]) correct++;
  }
  return correct / n;
}
