/**
 * Llama-family decoders (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM) from Hugging
 * Face configs: the forward pass over dense or sparse weights, the KV cache, generation,
 * perplexity and the sparse checkpoint layout. Browser-safe; node/ loads and saves folders.
 */
export { SUPPORTED_ARCHITECTURES, type DecoderArchitecture, type DecoderConfig, type LayerShape, layerShapeOf } from './decoder-config.js';
export { parseDecoderConfig } from './config.js';
export { type BlockSparsePrefill, DecoderModel, type ForwardOptions, type SequenceStep } from './llama.js';
export { generate, type GenerateOptions, type GenerateResult, type KVCacheFactory, type KVCacheReport } from './generate.js';
export { createSampler, type Sampler, type SamplingOptions } from './sampling.js';
export { perplexity, type PerplexityOptions, type PerplexityResult } from './perplexity.js';
export { FullKVCache, type KVCache, type KVCacheShape } from './kv-cache.js';
export { createDecoderWeights, disposeDecoderWeights, type DecoderLayerWeights, type DecoderWeights, type Projection } from './decoder-weights.js';
export { namedWeights } from './named-weights.js';
export { encodeWeights, type SaveableWeight, type ValuesDType } from './checkpoint-layout.js';
export { randomDecoderWeights } from './random-weights.js';
export { decoderLogits, decoderLoss, type DecoderForwardOptions, type DecoderParameters, decoderWeightsOf, initDecoderParameters, SequenceConstants } from './decoder-train.js';
export { llamaConfigJson, type LlamaConfigJson, type LlamaShape } from './llama-config.js';
