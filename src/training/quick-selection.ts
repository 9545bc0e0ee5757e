/**
 * QuickSelection (Atashgahi et al. 2022, "Quick and Robust Feature Selection: the Strength of
 * Energy-efficient Sparse Training for Autoencoders"): a one-hidden-layer denoising autoencoder,
 * sparse from the start and trained with SET, reconstructs clean inputs from noisy ones; a
 * feature's strength is the sum of |w| over its input neuron's connections, and the K strongest
 * features are selected. Choices follow the authors' code: sigmoid hidden units and a linear
 * output, dropout 0.2 on the hidden layer, Gaussian noise 0.2 x N(0, 1) drawn once for the whole
 * run, squared error, SGD with momentum 0.9 (lr 0.01, weight decay 1e-5), batch 100, Erdős–Rényi
 * density epsilon (n_in + n_out) / (n_in n_out) with epsilon 13, 20% of connections replaced by
 * SET once per epoch. Here SET runs on the library's schedule (methods/dynamic.ts): the fraction
 * replaced decays by a cosine to zero at the last step, where the authors keep it at 20%.
 */
import * as ag from '../autograd/index.js';
import type { Variable } from '../autograd/variable.js';
import { ArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { tensor } from '../core/ops.js';
import { miniBatches } from '../data/batches.js';
import { type ClassificationDataset, exampleCount, featureCount } from '../data/dataset.js';
import { Linear } from '../nn/linear.js';
import { childParameters, type Module } from '../nn/module.js';
import { Sgd } from '../nn/optim/sgd.js';
import { SparsityController } from './controller.js';
import { SetMethod } from './methods/set.js';
import type { SparseLayer } from './types.js';

export interface QuickSelectionOptions {
  /** The inputs (labels are not used: selection is unsupervised); standardise features first. */
  readonly data: ClassificationDataset;
  /** Features to select. */
  readonly select: number;
  /** Hidden units (the authors' 1000). */
  readonly hidden: number;
  readonly epochs: number;
  readonly seed: number;
  /** Erdős–Rényi epsilon (default 13); both layers get density epsilon (D + H) / (D H). */
  readonly epsilon?: number;
  /** Standard deviation of the input noise (default 0.2). */
  readonly noiseFactor?: number;
  /** Dropout on the hidden units (default 0.2). */
  readonly dropout?: number;
  /** SET's fraction of connections replaced per epoch, zeta (default 0.2). */
  readonly dropFraction?: number;
  /** Defaults 100, 0.01, 0.9, 1e-5. */
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
}

export interface QuickSelectionResult {
  /** Per feature: sum of |w| over its connections into the hidden layer. */
  readonly strengths: Float32Array;
  /** Every feature, strongest first (ties: lower index first). */
  readonly ranking: Int32Array;
  /** The first `select` of the ranking. */
  readonly selected: Int32Array;
  /** Fraction of the autoencoder's weights pruned. */
  readonly sparsity: number;
  /** Mean reconstruction loss over the last epoch. */
  readonly finalLoss: number;
}

/** D -> H (sigmoid) -> D (linear). */
class DenoisingAutoencoder implements Module {
  readonly encoder: Linear;
  readonly decoder: Linear;

  constructor(features: number, hidden: number, seed: number) {
    this.encoder = new Linear(features, hidden, { seed });
    this.decoder = new Linear(hidden, features, { seed: seed + 1 });
  }

  forward(x: Variable, dropout: number, dropoutSeed: number): Variable {
    const h = ag.sigmoid(this.encoder.forward(x));
    return this.decoder.forward(dropout > 0 ? ag.dropout(h, dropout, dropoutSeed) : h);
  }

  parameters(): Map<string, Variable> {
    return childParameters([
      ['encoder', this.encoder],
      ['decoder', this.decoder],
    ]);
  }
}

export async function quickSelection(options: QuickSelectionOptions): Promise<QuickSelectionResult> {
  const { data, select, hidden, epochs, seed } = options;
  const d = featureCount(data);
  const n = exampleCount(data);
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(select) || select < 1 || select > d) throw new ArgumentError(`QuickSelection: select must be an integer in [1, ${d}], got ${select}`);
  if (!Number.isInteger(hidden) || hidden < 1) throw new ArgumentError(`QuickSelection: hidden must be a positive integer, got ${hidden}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new ArgumentError(`QuickSelection: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) throw new ArgumentError(`QuickSelection: batchSize must be an integer in [1, ${n}], got ${batchSize}`);
  const epsilon = options.epsilon ?? 13;
  const density = (epsilon * (d + hidden)) / (d * hidden);
  if (!(density > 0 && density < 1)) throw new ArgumentError(`QuickSelection: epsilon ${epsilon} gives density ${density.toFixed(3)} for ${d} x ${hidden}; it must be in (0, 1)`);
  const dropout = options.dropout ?? 0.2;
  const noiseFactor = options.noiseFactor ?? 0.2;

  // The authors add one draw of noise to the whole training set and reuse it every epoch.
  const rng = new Random(seed);
  const noisy = Float32Array.from(data.inputs, (x) => x + noiseFactor * rng.normal());
  const noisyData: ClassificationDataset = { ...data, inputs: noisy };

  const model = new DenoisingAutoencoder(d, hidden, seed + 17);
  const params = [...model.parameters().values()];
  const optimizer = new Sgd(params, { learningRate: options.learningRate ?? 0.01, momentum: options.momentum ?? 0.9, weightDecay: options.weightDecay ?? 1e-5 });
  const layers: SparseLayer[] = [
    { name: 'encoder.weight', param: model.encoder.weight, rows: hidden, cols: d },
    { name: 'decoder.weight', param: model.decoder.weight, rows: d, cols: hidden },
  ];
  const stepsPerEpoch = Math.floor(n / batchSize);
  const steps = epochs * stepsPerEpoch;
  // Both layers have n_in + n_out = D + H and n_in n_out = D H, so ER densities are one uniform density.
  const set = new SetMethod({ sparsity: 1 - density, distribution: 'uniform', seed, interval: stepsPerEpoch, endStep: steps, dropFraction: options.dropFraction ?? 0.2 });
  const controller = new SparsityController(layers, set, optimizer);
  controller.start();

  const batches = miniBatches(noisyData, { batchSize, epochs, seed: seed + 1, dropLast: true });
  const clean = new Float32Array(batchSize * d);
  let lastEpochLoss = 0;
  let step = 0;
  for (const batch of batches) {
    step++;
    batch.indices.forEach((row, i) => clean.set(data.inputs.subarray(row * d, (row + 1) * d), i * d));
    const x = ag.constant(tensor(batch.inputs, [batchSize, d]));
    const target = ag.constant(tensor(clean, [batchSize, d]));
    // Half the squared error summed over features, averaged over examples: the scale of the
    // authors' update (their output delta is the error itself, divided by the batch only).
    const loss = ag.scale(ag.sumAll(ag.square(ag.sub(model.forward(x, dropout, seed * 7919 + step), target))), 0.5 / batchSize);
    ag.backward(loss);
    const lossValue = ((await loss.value.read()) as Float32Array)[0];
    loss.value.dispose();
    x.value.dispose();
    target.value.dispose();
    if (!Number.isFinite(lossValue)) throw new ArgumentError(`QuickSelection: the loss is ${lossValue} at step ${step}; lower the learning rate`);
    if (step > steps - stepsPerEpoch) lastEpochLoss += lossValue / stepsPerEpoch;
    await controller.beforeStep(step);
    optimizer.step();
    await controller.afterStep(step);
    ag.zeroGrad(params);
  }

  const encoder = (await model.encoder.weight.value.read()) as Float32Array;
  const strengths = new Float32Array(d);
  for (let h = 0; h < hidden; h++) for (let i = 0; i < d; i++) strengths[i] += Math.abs(encoder[h * d + i]);
  const ranking = Int32Array.from({ length: d }, (_, i) => i).sort((a, b) => strengths[b] - strengths[a] || a - b);
  const sparsity = controller.sparsity();
  controller.dispose();
  for (const p of params) p.value.dispose();
  return { strengths, ranking, selected: ranking.slice(0, select), sparsity, finalLoss: lastEpochLoss };
}

/** The dataset restricted to `features` (in that order): what a downstream model trains on. */
export function selectFeatures(data: ClassificationDataset, features: ArrayLike<number>): ClassificationDataset {
  const d = featureCount(data);
  const n = exampleCount(data);
  const k = features.length;
  for (let j = 0; j < k; j++) if (!Number.isInteger(features[j]) || features[j] < 0 || features[j] >= d) throw new ArgumentError(`select features: index ${features[j]} outside [0, ${d})`);
  const inputs = new Float32Array(n * k);
  for (let row = 0; row < n; row++) for (let j = 0; j < k; j++) inputs[row * k + j] = data.inputs[row * d + features[j]];
  return { inputs, labels: data.labels, classes: data.classes, shape: [k] };
}
