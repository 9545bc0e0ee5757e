/**
 * Perplexity of a token sequence, with windows of seqLen tokens advanced by `stride` as in HF's
 * perplexity guide ("Perplexity of fixed-length models"): each window scores only the tokens no
 * earlier window scored, with the rest of the window as context, so stride < seqLen trades
 * compute for context. Token 0 is never scored (it has no predecessor).
 */
import { ArgumentError } from '../core/errors.js';
import { logSoftmax } from '../core/ops.js';
import type { DecoderModel } from './llama.js';

export interface PerplexityOptions {
  readonly seqLen: number;
  readonly stride: number;
  /** Called after each window with tokens scored so far and in all. */
  readonly onProgress?: (scored: number, total: number) => void;
}

export interface PerplexityResult {
  readonly perplexity: number;
  /** Mean negative log-likelihood per scored token (nats). */
  readonly meanNll: number;
  readonly tokens: number;
  readonly windows: number;
}

export async function perplexity(model: DecoderModel, ids: readonly number[], options: PerplexityOptions): Promise<PerplexityResult> {
  const { seqLen, stride } = options;
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new ArgumentError(`sequence length must be an integer >= 2, got ${seqLen}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > seqLen) throw new ArgumentError(`stride must be an integer in [1, ${seqLen}], got ${stride}`);
  if (seqLen > model.config.maxPositions) {
    throw new ArgumentError(`sequence length ${seqLen} exceeds the model's context of ${model.config.maxPositions} (max_position_embeddings)`);
  }
  if (ids.length < 2) throw new ArgumentError(`the text has ${ids.length} token(s); perplexity needs at least 2`);
  const vocab = model.config.vocabSize;
  let nll = 0;
  let scored = 0;
  let windows = 0;
  let previousEnd = 0;
  const total = ids.length - 1;
  for (let begin = 0; begin < ids.length; begin += stride) {
    const end = Math.min(begin + seqLen, ids.length);
    const targets = end - previousEnd; // the last `targets` tokens of the window are new
    const window = ids.slice(begin, end);
    const cache = model.createCache(window.length);
    try {
      const logits = model.forward([{ tokens: window, cache }], { allLogits: true });
      const logProbs = logSoftmax(logits);
      logits.dispose();
      const lp = (await logProbs.read()) as Float32Array;
      logProbs.dispose();
      // Token j of the window (j >= 1) is predicted by row j - 1.
      for (let j = Math.max(1, window.length - targets); j < window.length; j++) {
        nll -= lp[(j - 1) * vocab + window[j]];
        scored++;
      }
    } finally {
      cache.dispose();
    }
    windows++;
    previousEnd = end;
    options.onProgress?.(scored, total);
    if (end === ids.length) break;
  }
  const meanNll = nll / scored;
  return { perplexity: Math.exp(meanNll), meanNll, tokens: scored, windows };
}
