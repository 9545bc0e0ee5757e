/** A decoder's weights under their Hugging Face names, in checkpoint order, for saving. Browser-safe. */
import type { Tensor } from '../core/tensor.js';
import type { LinearWeight } from '../sparse/linear.js';
import type { DecoderWeights } from './decoder-weights.js';
import { EMBED_TOKENS, FINAL_NORM, LAYER_PROJECTIONS, layerPrefix, LM_HEAD } from './hf-names.js';

export function namedWeights(w: DecoderWeights, tiedEmbeddings: boolean): Map<string, Tensor | LinearWeight> {
  const out = new Map<string, Tensor | LinearWeight>([[EMBED_TOKENS, w.embedTokens]]);
  w.layers.forEach((layer, block) => {
    const p = layerPrefix(block);
    out.set(`${p}.input_layernorm.weight`, layer.inputNorm);
    out.set(`${p}.post_attention_layernorm.weight`, layer.postAttentionNorm);
    for (const [key, path] of LAYER_PROJECTIONS) {
      out.set(`${p}.${path}.weight`, layer[key].weight);
      const bias = layer[key].bias;
      if (bias) out.set(`${p}.${path}.bias`, bias);
    }
  });
  out.set(FINAL_NORM, w.finalNorm);
  if (!tiedEmbeddings) out.set(LM_HEAD, w.lmHead);
  return out;
}

/** The dtype a checkpoint's config.json says it was saved in (transformers 5 `dtype`, 4.x `torch_dtype`); F32 otherwise. */
export function checkpointValuesDType(config: Readonly<Record<string, unknown>>): 'F32' | 'F16' | 'BF16' {
  const dtype = config.dtype ?? config.torch_dtype;
  return dtype === 'float16' ? 'F16' : dtype === 'bfloat16' ? 'BF16' : 'F32';
}
