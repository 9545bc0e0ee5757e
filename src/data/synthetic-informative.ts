/**
 * A feature-selection task in the manner of Madelon (Guyon et al. 2004, the NIPS 2003 feature
 * selection challenge): only K of D features carry the signal. A latent z ~ N(0, I_r) gives the
 * K informative features, each a random mix of z plus independent noise (so they predict one
 * another); the other D - K features are independent N(0, 1) distractors. The label is the argmax
 * of a random linear map of z over C classes. Every feature has unit variance, so no feature
 * stands out by scale, and the informative ones sit at random positions. Seeded, no files.
 */
import { ArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { ClassificationDataset } from './dataset.js';

export interface InformativeFeaturesOptions {
  /** D. */
  readonly features: number;
  /** K, the features that carry the signal (K <= D). */
  readonly informative: number;
  /** r, the latent dimension. Default 5. */
  readonly latent?: number;
  /** C. Default 4. */
  readonly classes?: number;
  /** Standard deviation of each informative feature's own noise, against 1 for its mix of z. Default 0.3. */
  readonly noise?: number;
  /** Default 5000. */
  readonly trainCount?: number;
  /** Default 1000. */
  readonly testCount?: number;
  readonly seed: number;
}

export interface InformativeFeaturesTask {
  readonly train: ClassificationDataset;
  readonly test: ClassificationDataset;
  /** The positions of the K informative features, ascending. */
  readonly informative: Int32Array;
}

export function informativeFeaturesTask(options: InformativeFeaturesOptions): InformativeFeaturesTask {
  const d = positiveInteger('features', options.features);
  const k = positiveInteger('informative', options.informative);
  if (k > d) throw new ArgumentError(`informative features: ${k} informative of ${d} features`);
  const r = positiveInteger('latent', options.latent ?? 5);
  const classes = positiveInteger('classes', options.classes ?? 4);
  if (classes < 2) throw new ArgumentError(`informative features: classes must be at least 2, got ${classes}`);
  const noise = options.noise ?? 0.3;
  if (!(noise >= 0)) throw new ArgumentError(`informative features: noise must be >= 0, got ${noise}`);
  const seeds = new Random(options.seed);
  const structure = new Random(seeds.nextUint32());
  const positions = structure.shuffle(Array.from({ length: d }, (_, i) => i)).slice(0, k).sort((a, b) => a - b);
  // Mix rows of unit norm, so each informative feature is 1 part signal to `noise` parts noise.
  const mix = new Float32Array(k * r);
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let t = 0; t < r; t++) norm += (mix[j * r + t] = structure.normal()) ** 2;
    for (let t = 0; t < r; t++) mix[j * r + t] /= Math.sqrt(norm);
  }
  const readout = Float32Array.from({ length: classes * r }, () => structure.normal());
  const draw = (count: number, rng: Random): ClassificationDataset => {
    const inputs = new Float32Array(count * d);
    const labels = new Int32Array(count);
    const z = new Float32Array(r);
    const scale = 1 / Math.sqrt(1 + noise * noise);
    for (let n = 0; n < count; n++) {
      const x = inputs.subarray(n * d, (n + 1) * d);
      for (let t = 0; t < r; t++) z[t] = rng.normal();
      for (let i = 0; i < d; i++) x[i] = rng.normal();
      positions.forEach((pos, j) => {
        let s = 0;
        for (let t = 0; t < r; t++) s += mix[j * r + t] * z[t];
        x[pos] = (s + noise * x[pos]) * scale;
      });
      let best = 0;
      let bestLogit = -Infinity;
      for (let c = 0; c < classes; c++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += readout[c * r + t] * z[t];
        if (s > bestLogit) [best, bestLogit] = [c, s];
      }
      labels[n] = best;
    }
    return { inputs, labels, classes, shape: [d] };
  };
  const train = draw(positiveInteger('trainCount', options.trainCount ?? 5000), new Random(seeds.nextUint32()));
  const test = draw(positiveInteger('testCount', options.testCount ?? 1000), new Random(seeds.nextUint32()));
  return { train, test, informative: Int32Array.from(positions) };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new ArgumentError(`informative features: ${name} must be a positive integer, got ${value}`);
  return value;
}
