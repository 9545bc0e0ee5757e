/**
 * The Hugging Face tensor names of a Llama-family checkpoint and the shapes a DecoderConfig
 * implies for them: one list that loading, saving and checking all read. Browser-safe.
 */
import { type DecoderConfig, layerShapeOf } from './decoder-config.js';

/** What a tensor is to the forward pass: linear weights may be sparse, the rest are dense. */
export type WeightKind = 'embedding' | 'norm' | 'linear' | 'bias';

export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: WeightKind;
}

export const EMBED_TOKENS = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm.weight';
export const LM_HEAD = 'lm_head.weight';

/** The projections of a layer: DecoderLayerWeights key, HF module path. */
export const LAYER_PROJECTIONS = [
  ['q', 'self_attn.q_proj'],
  ['k', 'self_attn.k_proj'],
  ['v', 'self_attn.v_proj'],
  ['o', 'self_attn.o_proj'],
  ['gate', 'mlp.gate_proj'],
  ['up', 'mlp.up_proj'],
  ['down', 'mlp.down_proj'],
] as const;

export type ProjectionKey = (typeof LAYER_PROJECTIONS)[number][0];

export function layerPrefix(layer: number): string {
  return `model.layers.${layer}`;
}

/** [out, in] of each projection. */
export function projectionShape(config: DecoderConfig, key: ProjectionKey, layer = 0): [number, number] {
  const { hiddenSize: h, headDim } = config;
  const { intermediateSize: f, numHeads, numKvHeads } = layerShapeOf(config, layer);
  switch (key) {
    case 'q':
      return [numHeads * headDim, h];
    case 'k':
    case 'v':
      return [numKvHeads * headDim, h];
    case 'o':
      return [h, numHeads * headDim];
    case 'gate':
    case 'up':
      return [f, h];
    case 'down':
      return [h, f];
  }
}

/** Whether the config gives this projection a bias. */
export function projectionHasBias(config: DecoderConfig, key: ProjectionKey): boolean {
  if (key === 'q' || key === 'k' || key === 'v') return config.attentionBias;
  if (key === 'o') return config.outputBias;
  return config.mlpBias;
}

/**
 * Every tensor the config calls for, in checkpoint order: the embedding, each layer's norms,
 * projections and biases, the final norm, and lm_head unless the embeddings are tied.
 */
export function expectedDecoderTensors(config: DecoderConfig): ExpectedTensor[] {
  const { hiddenSize: h, vocabSize: v } = config;
  const out: ExpectedTensor[] = [{ name: EMBED_TOKENS, shape: [v, h], kind: 'embedding' }];
  for (let i = 0; i < config.numLayers; i++) {
    const p = layerPrefix(i);
    out.push({ name: `${p}.input_layernorm.weight`, shape: [h], kind: 'norm' });
    for (const [key, module] of LAYER_PROJECTIONS) {
      const shape = projectionShape(config, key, i);
      out.push({ name: `${p}.${module}.weight`, shape, kind: 'linear' });
      if (projectionHasBias(config, key)) out.push({ name: `${p}.${module}.bias`, shape: [shape[0]], kind: 'bias' });
      if (key === 'o') out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [h], kind: 'norm' });
    }
  }
  out.push({ name: FINAL_NORM, shape: [h], kind: 'norm' });
  if (!config.tieWordEmbeddings) out.push({ name: LM_HEAD, shape: [v, h], kind: 'linear' });
  return out;
}
