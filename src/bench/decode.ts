/**
 * The decode benchmark: a generated ~100M-parameter Llama (random weights; no download) run
 * dense and with its block Linears stored sparse (50% unstructured as bitmap rows, the format
 * sparsekit stores 50% in, and as CSR for comparison; 2:4; 90% unstructured CSR). Reports prefill and decode tokens/s, weight and KV-cache bytes, and decode speedup over
 * the dense model measured in the same run. Embeddings and the LM head stay dense in every
 * variant, as pruning methods leave them (Wanda, SparseGPT).
 */
import type { Backend } from '../core/backend.js';
import type { Tensor } from '../core/tensor.js';
import { tensor } from '../core/ops.js';
import type { DecoderConfig } from '../models/decoder-config.js';
import { DecoderModel } from '../models/llama.js';
import { randomDecoderWeights, type LinearBuilder } from '../models/random-weights.js';
import { BitmapMatrix } from '../sparse/bitmap.js';
import { CsrMatrix } from '../sparse/csr.js';
import { weightBytes } from '../sparse/linear.js';
import { NmMatrix } from '../sparse/nm.js';
import { quantile } from './timing.js';
import { seedOfName, unstructuredSparse } from './weights.js';

export interface DecodeRecord {
  format: 'dense' | 'csr' | 'bitmap' | 'nm';
  /** Fraction of zeros in the decoder blocks' Linear weights. */
  sparsity: number;
  pattern: string | null;
  parameters: number;
  promptTokens: number;
  newTokens: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
  /** Median ms per decode step. */
  decodeMsPerToken: number;
  /** Bytes of all weights (embeddings and LM head included). */
  weightBytes: number;
  kvCacheBytes: number;
  speedupVsDense: number;
  prefillSpeedupVsDense: number;
}

export interface DecodeSuiteOptions {
  readonly config: DecoderConfig;
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly rounds: number;
  readonly seed: number;
}

/** About 100.6M parameters: 14 blocks of width 768 (12 heads, 4 KV heads), MLP 2048, vocabulary 8192. */
export const BENCH_LLAMA_100M: DecoderConfig = {
  architecture: 'LlamaForCausalLM',
  hiddenSize: 768,
  intermediateSize: 2048,
  numLayers: 14,
  numHeads: 12,
  numKvHeads: 4,
  headDim: 64,
  vocabSize: 8192,
  maxPositions: 1024,
  rmsNormEps: 1e-5,
  rope: { dim: 64, theta: 10000 },
  tieWordEmbeddings: false,
  attentionBias: false,
  outputBias: false,
  mlpBias: false,
  slidingWindow: null,
  bosTokenId: null,
  eosTokenIds: [],
};

export const FULL_DECODE_SUITE: DecodeSuiteOptions = { config: BENCH_LLAMA_100M, promptTokens: 128, newTokens: 64, rounds: 3, seed: 7 };
export const QUICK_DECODE_SUITE: DecodeSuiteOptions = { config: BENCH_LLAMA_100M, promptTokens: 32, newTokens: 16, rounds: 2, seed: 7 };

interface Variant {
  readonly format: DecodeRecord['format'];
  readonly sparsity: number;
  readonly pattern: string | null;
  readonly linear: LinearBuilder;
}

export const DECODE_VARIANTS: readonly Variant[] = [
  { format: 'dense', sparsity: 0, pattern: null, linear: (_n, d, r, c, b) => tensor(d, [r, c], 'f32', b) },
  { format: 'bitmap', sparsity: 0.5, pattern: null, linear: (n, d, r, c, b) => BitmapMatrix.fromDense(unstructuredSparse(d, r, c, 0.5, seedOfName(n)), r, c, b) },
  { format: 'csr', sparsity: 0.5, pattern: null, linear: (n, d, r, c, b) => CsrMatrix.fromDense(unstructuredSparse(d, r, c, 0.5, seedOfName(n)), r, c, b) },
  { format: 'nm', sparsity: 0.5, pattern: '2:4', linear: (_n, d, r, c, b) => NmMatrix.fromDenseByMagnitude(d, r, c, 2, 4, b) },
  { format: 'csr', sparsity: 0.9, pattern: null, linear: (n, d, r, c, b) => CsrMatrix.fromDense(unstructuredSparse(d, r, c, 0.9, seedOfName(n)), r, c, b) },
];

export function decodeVariantCount(): number {
  return DECODE_VARIANTS.length;
}

/** Builds every variant, then times them in rotating rounds (prefill once, decode newTokens steps). */
export async function runDecodeSuite(
  backend: Backend,
  options: DecodeSuiteOptions,
  onProgress: (message: string) => void = () => {},
): Promise<DecodeRecord[]> {
  const { config, promptTokens, newTokens, rounds, seed } = options;
  const models = DECODE_VARIANTS.map((variant) => {
    onProgress(`building ${label(variant)} weights`);
    return new DecoderModel(config, randomDecoderWeights(config, seed, variant.linear, backend));
  });
  const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const prefillMs: number[][] = models.map(() => []);
  const stepMs: number[][] = models.map(() => []);
  const kvBytes: number[] = models.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < models.length; k++) {
      const i = (round + k) % models.length;
      onProgress(`round ${round + 1}/${rounds}: ${label(DECODE_VARIANTS[i])}`);
      const { prefill, steps, cacheBytes } = await timeGeneration(models[i], prompt, newTokens);
      prefillMs[i].push(prefill);
      stepMs[i].push(...steps);
      kvBytes[i] = cacheBytes;
    }
  }
  const parameters = countParameters(config);
  const medians = models.map((_, i) => ({ prefill: median(prefillMs[i]), step: median(stepMs[i]) }));
  const records = DECODE_VARIANTS.map((variant, i): DecodeRecord => ({
    format: variant.format,
    sparsity: variant.sparsity,
    pattern: variant.pattern,
    parameters,
    promptTokens,
    newTokens,
    prefillTokensPerS: (promptTokens * 1000) / medians[i].prefill,
    decodeTokensPerS: 1000 / medians[i].step,
    decodeMsPerToken: medians[i].step,
    weightBytes: modelWeightBytes(models[i]),
    kvCacheBytes: kvBytes[i],
    speedupVsDense: medians[0].step / medians[i].step,
    prefillSpeedupVsDense: medians[0].prefill / medians[i].prefill,
  }));
  for (const m of models) for (const t of m.weights.tensors()) t.dispose();
  return records;
}

/** Prefill the prompt, then decode greedily step by step, timing each step (warm-up excluded by the caller's rounds). */
export async function timeGeneration(model: DecoderModel, prompt: number[], newTokens: number): Promise<{ prefill: number; steps: number[]; cacheBytes: number }> {
  const cache = model.createCache(prompt.length + newTokens);
  try {
    let start = performance.now();
    let logits: Tensor = model.forward([{ tokens: prompt, cache }]);
    let next = argmaxOf((await logits.read()) as Float32Array);
    logits.dispose();
    const prefill = performance.now() - start;
    const steps: number[] = [];
    for (let i = 0; i < newTokens; i++) {
      start = performance.now();
      logits = model.forward([{ tokens: [next], cache }]);
      next = argmaxOf((await logits.read()) as Float32Array);
      logits.dispose();
      steps.push(performance.now() - start);
    }
    // The first decode steps of a round warm caches and threads; keep the steady ones.
    return { prefill, steps: steps.slice(Math.min(4, steps.length - 1)), cacheBytes: cache.bytes() };
  } finally {
    cache.dispose();
  }
}

function argmaxOf(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

export function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

function label(v: Variant): string {
  return v.format === 'dense' ? 'dense' : `${v.format} ${v.pattern ?? `${Math.round(v.sparsity * 100)}%`}`;
}

export function countParameters(c: DecoderConfig): number {
  const { hiddenSize: h, intermediateSize: f, numHeads, numKvHeads, headDim, vocabSize: v, numLayers } = c;
  const perLayer = 2 * h + h * numHeads * headDim * 2 + 2 * h * numKvHeads * headDim + 3 * h * f;
  return numLayers * perLayer + v * h * (c.tieWordEmbeddings ? 1 : 2) + h;
}

export function modelWeightBytes(model: DecoderModel): number {
  const w = model.weights;
  let bytes = 0;
  const seen = new Set<unknown>();
  const add = (x: Parameters<typeof weightBytes>[0]) => {
    if (seen.has(x)) return;
    seen.add(x);
    bytes += weightBytes(x);
  };
  add(w.embedTokens);
  add(w.lmHead);
  add(w.finalNorm);
  for (const l of w.layers) {
    add(l.inputNorm);
    add(l.postAttentionNorm);
    for (const p of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) {
      add(p.weight);
      if (p.bias) add(p.bias);
    }
  }
  return bytes;
}


export interface PairedDecodeTiming {
  readonly denseMsPerToken: number;
  readonly variantMsPerToken: number;
  /** Dense ms per token over the variant's. */
  readonly speedup: number;
}

/** Median decode step time of `variant` and of `dense`, timed in alternating rounds so drift in the machine's speed hits both. */
export async function pairedDecodeTiming(
  dense: DecoderModel,
  variant: DecoderModel,
  options: Pick<DecodeSuiteOptions, 'promptTokens' | 'newTokens' | 'rounds'>,
): Promise<PairedDecodeTiming> {
  const vocab = dense.config.vocabSize;
  const prompt = Array.from({ length: options.promptTokens }, (_, i) => (i * 7919 + 13) % vocab);
  const denseSteps: number[] = [];
  const variantSteps: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? [dense, variant] : [variant, dense];
    for (const model of order) {
      const { steps } = await timeGeneration(model, prompt, options.newTokens);
      (model === dense ? denseSteps : variantSteps).push(...steps);
    }
  }
  const denseMsPerToken = median(denseSteps);
  const variantMsPerToken = median(variantSteps);
  return { denseMsPerToken, variantMsPerToken, speedup: denseMsPerToken / variantMsPerToken };
}
