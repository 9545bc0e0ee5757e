/**
 * Training a classifier (any ClassifierModel: an Mlp over flat features, a CNN over images) with
 * an optional sparsity controller:
 * mini-batches, cross-entropy, backward, optional clipping, masked optimizer step, scheduled
 * learning rate; test accuracy at the end. The loop the sparse-training benchmark and the
 * `train` command share for classification tasks.
 */
import * as ag from '../autograd/index.js';
import { ArgumentError } from '../core/errors.js';
import { argmax, tensor } from '../core/ops.js';
import { tidy } from '../core/tensor.js';
import { type ClassificationDataset, exampleCount, featureCount } from '../data/dataset.js';
import { miniBatches } from '../data/batches.js';
import type { ClassifierModel } from '../nn/classifier-model.js';
import { clipGradNorm } from '../nn/optim/clip.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import type { LearningRateSchedule } from '../nn/optim/schedule.js';
import type { TrainingSparsityHook } from './hook.js';

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

export async function trainClassifier(options: ClassifierTrainingOptions): Promise<ClassifierTrainingResult> {
  const { model, train, test, optimizer, steps, batchSize, controller } = options;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`training: steps must be a positive integer, got ${steps}`);
  checkFits(model, train);
  const params = [...model.parameters().values()];
  const epochs = Math.ceil((steps * batchSize) / exampleCount(train)) + 1;
  const batches = miniBatches(train, { batchSize, epochs, seed: options.seed, dropLast: true });
  const losses: { step: number; loss: number }[] = [];
  const every = options.progressEvery ?? 50;
  controller?.start();
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const next = batches.next();
    if (next.done) throw new ArgumentError('training: ran out of batches');
    const batch = next.value;
    if (options.schedule) optimizer.learningRate = options.schedule.at(step - 1);
    const x = ag.constant(tensor(batch.inputs, [batch.size, ...model.inputShape]));
    const y = tensor(batch.labels, [batch.size], 'i32');
    const loss = ag.crossEntropy(model.forward(x), y);
    ag.backward(loss);
    const lossValue = ((await loss.value.read()) as Float32Array)[0];
    loss.value.dispose();
    x.value.dispose();
    y.dispose();
    if (!Number.isFinite(lossValue)) throw new ArgumentError(`training: the loss is ${lossValue} at step ${step}`);
    losses.push({ step, loss: lossValue });
    if (options.clipNorm) await clipGradNorm(params, options.clipNorm);
    await controller?.beforeStep(step);
    optimizer.step();
    await controller?.afterStep(step);
    ag.zeroGrad(params);
    if (options.onProgress && (step % every === 0 || step === steps)) {
      const seconds = (performance.now() - started) / 1000;
      options.onProgress({ step, loss: lossValue, sparsity: controller?.sparsity() ?? 0, examplesPerS: (step * batchSize) / seconds });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const tail = losses.slice(Math.floor(losses.length * 0.9));
  return {
    testAccuracy: await accuracy(model, test),
    finalLoss: tail.reduce((s, l) => s + l.loss, 0) / tail.length,
    losses,
    examplesPerS: (steps * batchSize) / seconds,
    sparsity: controller?.sparsity() ?? 0,
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
