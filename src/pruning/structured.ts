/**
 * Structured pruning of a Llama-family model (CFSP, Wang et al. 2024): whole MLP channels or
 * whole attention heads (a KV head with every query head sharing it) removed, so the result is a
 * physically smaller dense model. Coarse stage: per-block budgets from how much each block
 * changes its input (CFSP's angular distance), or uniform; fine stage: within a block, channels or
 * heads ranked by activation-weighted weight magnitudes (structured/cfsp.ts).
 */
import { ArgumentError } from '../core/errors.js';
import { tensor } from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';
import { type DecoderConfig, layerShapeOf, type LayerShape } from '../models/decoder-config.js';
import { decoderTensors, type DecoderLayerWeights, type DecoderWeights, type Projection } from '../models/decoder-weights.js';
import { LAYER_SHAPES_KEY } from '../models/config.js';
import { layerPrefix } from '../models/hf-names.js';
import type { DecoderModel, LinearInputGroup } from '../models/llama.js';
import { walkLayers } from './calibration.js';
import type { PrunedLayerReport, PruneProgress } from './pipeline.js';
import type { PruneStep } from './recipe.js';
import { angularDistanceSum, cfspBlockSparsities, cfspKeepCounts, cfspPruneBlock, type DenseBlock, type DenseProjection } from './structured/cfsp.js';
import type { LinearInputStats } from './types.js';

export interface StructuredOutcome {
  readonly config: DecoderConfig;
  readonly weights: DecoderWeights;
  /** config.json fields to change (the new widths). */
  readonly configPatch: Record<string, unknown>;
  readonly layers: PrunedLayerReport[];
  /** Fraction of the block Linears' parameters removed. */
  readonly sparsity: number;
}

/** MLP channels are kept in multiples of this (SIMD- and cache-friendly widths; CFSP's --cuda_friendly uses 128). */
const CHANNEL_MULTIPLE = 8;

export async function pruneStructured(
  model: DecoderModel,
  calibration: readonly (readonly number[])[],
  step: PruneStep,
  onProgress: PruneProgress = () => {},
): Promise<StructuredOutcome> {
  const config = model.config;
  const unit = step.pattern;
  if (unit !== 'channels' && unit !== 'heads') throw new ArgumentError(`structured pruning removes 'channels' or 'heads', not '${unit}'`);
  if (step.allocation !== 'uniform' && step.allocation !== 'cfsp') {
    throw new ArgumentError(`structured pruning takes allocation 'uniform' (a standard Hugging Face config) or 'cfsp' (per-block widths), not '${step.allocation}'`);
  }
  if (config.layerShapes) throw new ArgumentError('this model already has per-block widths; structured pruning starts from a uniform model');
  if (calibration.length === 0) throw new ArgumentError('structured pruning ranks channels and heads by their activations: pass --calib FILE');

  // One walk over the dense model: statistics for every block, and how much each block turns its input.
  const stats: Record<LinearInputGroup, LinearInputStats>[] = [];
  const distances: number[] = [];
  await walkLayers(model, calibration, {
    needs: { norms: true, gram: false },
    onProgress: (done, total) => onProgress('calibrating (dense model)', done, total),
    onBlock: (_layer, input, output) => {
      distances.push(angularDistanceSum(input.readSync() as Float32Array, output.readSync() as Float32Array, config.hiddenSize) / input.shape[0]);
    },
    onLayer: async (_layer, s) => {
      stats.push(s);
      return null;
    },
  });

  const target = step.sparsity;
  const budgets = step.allocation === 'cfsp' ? cfspBlockSparsities(distances, target) : distances.map(() => target);
  const width = unit === 'channels' ? config.intermediateSize : config.numKvHeads;
  const multiple = unit === 'channels' && width >= CHANNEL_MULTIPLE ? CHANNEL_MULTIPLE : 1;
  // Uniform keeps the same count in every block, so the result is a standard config Hugging Face can load.
  const keepCounts =
    step.allocation === 'uniform'
      ? budgets.map(() => Math.max(multiple, Math.min(width, Math.round(((1 - target) * width) / multiple) * multiple)))
      : cfspKeepCounts(budgets, width, multiple);

  const shapes: LayerShape[] = [];
  const layers: DecoderLayerWeights[] = [];
  const reports: PrunedLayerReport[] = [];
  let denseParams = 0;
  let keptParams = 0;
  for (let block = 0; block < config.numLayers; block++) {
    const dense = model.weights.layers[block];
    const pruned = cfspPruneBlock(denseBlock(dense), config, stats[block], {
      mlpChannels: unit === 'channels' ? keepCounts[block] : config.intermediateSize,
      kvGroups: unit === 'heads' ? keepCounts[block] : config.numKvHeads,
    });
    const { attention, mlp } = pruned.block;
    const t = (p: DenseProjection): Projection => ({
      weight: tensor(p.weight, [p.rows, p.cols], 'f32', model.backend),
      bias: p.bias ? tensor(p.bias, [p.rows], 'f32', model.backend) : null,
    });
    layers.push({ ...dense, q: t(attention.q), k: t(attention.k), v: t(attention.v), o: t(attention.o), gate: t(mlp.gate), up: t(mlp.up), down: t(mlp.down) });
    shapes.push({ numHeads: pruned.shape.numHeads, numKvHeads: pruned.shape.numKvHeads, intermediateSize: pruned.shape.intermediateSize });
    const before = layerShapeOf(config, block);
    const attentionBudget = unit === 'heads' ? budgets[block] : 0;
    const mlpBudget = unit === 'channels' ? budgets[block] : 0;
    const linears: [string, DenseProjection, number, number][] = [
      ['self_attn.q_proj', attention.q, before.numHeads * config.headDim * config.hiddenSize, attentionBudget],
      ['self_attn.k_proj', attention.k, before.numKvHeads * config.headDim * config.hiddenSize, attentionBudget],
      ['self_attn.v_proj', attention.v, before.numKvHeads * config.headDim * config.hiddenSize, attentionBudget],
      ['self_attn.o_proj', attention.o, before.numHeads * config.headDim * config.hiddenSize, attentionBudget],
      ['mlp.gate_proj', mlp.gate, before.intermediateSize * config.hiddenSize, mlpBudget],
      ['mlp.up_proj', mlp.up, before.intermediateSize * config.hiddenSize, mlpBudget],
      ['mlp.down_proj', mlp.down, before.intermediateSize * config.hiddenSize, mlpBudget],
    ];
    for (const [path, p, denseCount, budget] of linears) {
      denseParams += denseCount;
      keptParams += p.rows * p.cols;
      reports.push({
        name: `${layerPrefix(block)}.${path}.weight`,
        block,
        rows: p.rows,
        cols: p.cols,
        budget,
        sparsity: 1 - (p.rows * p.cols) / denseCount,
        format: 'dense (smaller)',
        bytes: p.rows * p.cols * 4,
        notes: unit === 'channels' ? { keptChannels: pruned.keptChannels.length } : { keptKvHeads: pruned.keptKvHeads.length },
      });
    }
    onProgress('pruning blocks', block + 1, config.numLayers);
  }

  const uniform = shapes.every((s) => s.numHeads === shapes[0].numHeads && s.numKvHeads === shapes[0].numKvHeads && s.intermediateSize === shapes[0].intermediateSize);
  const newConfig: DecoderConfig = uniform
    ? { ...config, numHeads: shapes[0].numHeads, numKvHeads: shapes[0].numKvHeads, intermediateSize: shapes[0].intermediateSize, layerShapes: null }
    : { ...config, layerShapes: shapes };
  const configPatch: Record<string, unknown> = uniform
    ? { num_attention_heads: shapes[0].numHeads, num_key_value_heads: shapes[0].numKvHeads, intermediate_size: shapes[0].intermediateSize, head_dim: config.headDim }
    : {
        head_dim: config.headDim,
        [LAYER_SHAPES_KEY]: shapes.map((s) => ({ num_attention_heads: s.numHeads, num_key_value_heads: s.numKvHeads, intermediate_size: s.intermediateSize })),
      };
  const parts = { embedTokens: model.weights.embedTokens, layers, finalNorm: model.weights.finalNorm, lmHead: model.weights.lmHead };
  return { config: newConfig, weights: { ...parts, tensors: () => decoderTensors(parts) }, configPatch, layers: reports, sparsity: 1 - keptParams / denseParams };
}

/** A block's Linears as host arrays for the CFSP functions. */
function denseBlock(layer: DecoderLayerWeights): DenseBlock {
  const p = (proj: Projection): DenseProjection => {
    const w = proj.weight;
    const weight = 'toDenseSync' in w ? w.toDenseSync() : ((w as Tensor).readSync() as Float32Array);
    const [rows, cols] = 'toDenseSync' in w ? [w.rows, w.cols] : (w as Tensor).shape;
    return { rows, cols, weight, bias: proj.bias ? (proj.bias.readSync() as Float32Array) : null };
  };
  return {
    attention: { q: p(layer.q), k: p(layer.k), v: p(layer.v), o: p(layer.o) },
    mlp: { gate: p(layer.gate), up: p(layer.up), down: p(layer.down) },
  };
}
