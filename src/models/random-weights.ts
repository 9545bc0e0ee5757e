/**
 * Random Llama-family weights built in memory, for tests and benchmarks where no trained model
 * can be downloaded: Linear weights N(0, 1/in), norms near one, optional biases. `linear` may
 * turn each projection's dense weight into another format (a sparse one) as it is built.
 */
import type { Backend } from '../core/backend.js';
import { getBackend } from '../core/engine.js';
import { tensor } from '../core/ops.js';
import { Random } from '../core/random.js';
import type { LinearWeight } from '../sparse/linear.js';
import { type DecoderConfig, layerShapeOf } from './decoder-config.js';
import { decoderTensors, type DecoderLayerWeights, type DecoderWeights, type Projection } from './decoder-weights.js';

export type LinearBuilder = (name: string, data: Float32Array, rows: number, cols: number, backend: Backend) => LinearWeight;

const denseLinear: LinearBuilder = (_name, data, rows, cols, backend) => tensor(data, [rows, cols], 'f32', backend);

export function randomDecoderWeights(config: DecoderConfig, seed: number, linear: LinearBuilder = denseLinear, backend: Backend = getBackend()): DecoderWeights {
  const rng = new Random(seed);
  const { hiddenSize: h, headDim, vocabSize } = config;
  const normal = (n: number, std: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
    return a;
  };
  const norm = () => tensor(normal(h, 0.1).map((x) => 1 + x), [h], 'f32', backend);
  const projection = (name: string, rows: number, cols: number, bias: boolean): Projection => ({
    weight: linear(name, normal(rows * cols, 1 / Math.sqrt(cols)), rows, cols, backend),
    bias: bias ? tensor(normal(rows, 0.05), [rows], 'f32', backend) : null,
  });
  const layers: DecoderLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    const { intermediateSize: f, numHeads, numKvHeads } = layerShapeOf(config, i);
    layers.push({
      inputNorm: norm(),
      q: projection(`${p}.self_attn.q_proj.weight`, numHeads * headDim, h, config.attentionBias),
      k: projection(`${p}.self_attn.k_proj.weight`, numKvHeads * headDim, h, config.attentionBias),
      v: projection(`${p}.self_attn.v_proj.weight`, numKvHeads * headDim, h, config.attentionBias),
      o: projection(`${p}.self_attn.o_proj.weight`, h, numHeads * headDim, config.outputBias),
      postAttentionNorm: norm(),
      gate: projection(`${p}.mlp.gate_proj.weight`, f, h, config.mlpBias),
      up: projection(`${p}.mlp.up_proj.weight`, f, h, config.mlpBias),
      down: projection(`${p}.mlp.down_proj.weight`, h, f, config.mlpBias),
    });
  }
  const embedTokens = tensor(normal(vocabSize * h, 1), [vocabSize, h], 'f32', backend);
  const lmHead = config.tieWordEmbeddings ? embedTokens : tensor(normal(vocabSize * h, 1 / Math.sqrt(h)), [vocabSize, h], 'f32', backend);
  const parts = { embedTokens, layers, finalNorm: norm(), lmHead };
  return { ...parts, tensors: () => decoderTensors(parts) };
}

/** A small Llama-shaped config for tests. */
export function tinyDecoderConfig(overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  return {
    architecture: 'LlamaForCausalLM',
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    vocabSize: 50,
    maxPositions: 128,
    rmsNormEps: 1e-5,
    rope: { dim: 8, theta: 10000 },
    tieWordEmbeddings: false,
    attentionBias: false,
    outputBias: false,
    mlpBias: false,
    slidingWindow: null,
    bosTokenId: null,
    eosTokenIds: [],
    ...overrides,
  };
}
