/** The fields of a Hugging Face Llama config.json that sparsekit reads and writes. */
export interface LlamaConfigJson {
  architectures: string[];
  model_type: string;
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  num_hidden_layers: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  torch_dtype: string;
  [key: string]: unknown;
}

export interface LlamaShape {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly layers: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
}

export function llamaConfigJson(shape: LlamaShape): LlamaConfigJson {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    num_hidden_layers: shape.layers,
    vocab_size: shape.vocabSize,
    max_position_embeddings: shape.maxPositions,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
  };
}

/** Each weight of a Llama checkpoint in HF naming, with its [out, in] (or [n]) shape. */
export function llamaWeightShapes(shape: LlamaShape): { name: string; shape: number[] }[] {
  const { hiddenSize: h, intermediateSize: f, heads, kvHeads, layers, vocabSize: v } = shape;
  const headDim = h / heads;
  const out: { name: string; shape: number[] }[] = [{ name: 'model.embed_tokens.weight', shape: [v, h] }];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [h] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [heads * headDim, h] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kvHeads * headDim, h] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kvHeads * headDim, h] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [h, heads * headDim] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [h] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [f, h] },
      { name: `${p}.mlp.up_proj.weight`, shape: [f, h] },
      { name: `${p}.mlp.down_proj.weight`, shape: [h, f] },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [h] }, { name: 'lm_head.weight', shape: [v, h] });
  return out;
}
