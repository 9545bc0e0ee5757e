/**
 * Choosing the next token from logits: greedy (argmax), or sampling from the softmax at a
 * temperature, restricted to the top k tokens and then to the smallest set whose probability
 * reaches top-p (nucleus sampling, Holtzman et al. 2020), in that order as HF transformers
 * applies them. Seeded, so a run can be repeated.
 */
import { ArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';

export interface SamplingOptions {
  /** 0 (default) means greedy. */
  readonly temperature?: number;
  /** Keep the k most likely tokens (0 or absent: all). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probabilities sum to >= topP (1: all). */
  readonly topP?: number;
  readonly seed?: number;
}

export type Sampler = (logits: Float32Array) => number;

export function createSampler(options: SamplingOptions = {}): Sampler {
  const { temperature = 0, topK = 0, topP = 1, seed = 0 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new ArgumentError(`temperature must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new ArgumentError(`top-k must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new ArgumentError(`top-p must be in (0, 1], got ${topP}`);
  if (temperature === 0) return argmax;
  const rng = new Random(seed);
  return (logits) => {
    // Candidates by descending logit (ties: lower id first).
    let order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
    if (topK > 0) order = order.slice(0, topK);
    const max = logits[order[0]];
    let probs = order.map((id) => Math.exp((logits[id] - max) / temperature));
    let sum = probs.reduce((a, b) => a + b, 0);
    if (topP < 1) {
      let cumulative = 0;
      let keep = 0;
      while (keep < probs.length && cumulative < topP * sum) cumulative += probs[keep++];
      order = order.slice(0, Math.max(1, keep));
      probs = probs.slice(0, order.length);
      sum = probs.reduce((a, b) => a + b, 0);
    }
    let u = rng.uniform() * sum;
    for (let i = 0; i < order.length; i++) {
      u -= probs[i];
      if (u < 0) return order[i];
    }
    return order[order.length - 1];
  };
}

/** Index of the largest logit (the first one on ties, as torch.argmax). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}
