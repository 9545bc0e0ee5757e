/**
 * The normalized configuration of a Llama-family decoder, whatever HF architecture it came from
 * (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM): what the forward pass needs.
 */
import type { RopeConfig } from '../core/rope.js';

export const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'] as const;
export type DecoderArchitecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/** The widths of one block, which structured pruning may make differ from block to block. */
export interface LayerShape {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly intermediateSize: number;
}

export interface DecoderConfig {
  readonly architecture: DecoderArchitecture;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly rmsNormEps: number;
  /** Rotary embedding: dim = headDim (all of it rotated, as in Llama), theta, optional scaling. */
  readonly rope: RopeConfig;
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2; Llama's attention_bias). */
  readonly attentionBias: boolean;
  /** o_proj carries a bias (Llama's attention_bias also adds it). */
  readonly outputBias: boolean;
  /** MLP projections carry biases (Llama's mlp_bias). */
  readonly mlpBias: boolean;
  /** Sliding-window attention width (Mistral), or null. */
  readonly slidingWindow: number | null;
  readonly bosTokenId: number | null;
  /** Generation stops at any of these. */
  readonly eosTokenIds: readonly number[];
  /**
   * Per-block widths when they differ (a structurally pruned model; config.json's
   * `sparsekit_layer_shapes`); null when every block has numHeads, numKvHeads, intermediateSize.
   */
  readonly layerShapes?: readonly LayerShape[] | null;
}

/** Block `layer`'s widths. */
export function layerShapeOf(config: DecoderConfig, layer: number): LayerShape {
  return config.layerShapes?.[layer] ?? { numHeads: config.numHeads, numKvHeads: config.numKvHeads, intermediateSize: config.intermediateSize };
}
