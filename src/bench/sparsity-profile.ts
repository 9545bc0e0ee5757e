/**
 * Carries a pruning result's structure over to a larger Llama config, so that its decode speed
 * can be measured on the decode benchmark's ~100M model (the pruned model itself, a few million
 * parameters, is too small for its Linears to dominate decode time). Block l of the target takes
 * the structure of the pruned model's block floor(l * L_pruned / L_target), projection by
 * projection: the Linear's achieved sparsity and storage format (dense, CSR, bitmap, N:M, BSR), or for
 * structured pruning the fraction of MLP channels and KV groups each block kept. Weights are
 * random: speed depends on the structure, not on the values.
 */
import { tensor } from '../core/ops.js';
import { type DecoderConfig, type LayerShape, layerShapeOf } from '../models/decoder-config.js';
import { LAYER_PROJECTIONS, layerPrefix, type ProjectionKey } from '../models/hf-names.js';
import type { LinearBuilder } from '../models/random-weights.js';
import type { PrunedLayerReport } from '../pruning/pipeline.js';
import { BitmapMatrix } from '../sparse/bitmap.js';
import { BsrMatrix } from '../sparse/bsr.js';
import { CsrMatrix } from '../sparse/csr.js';
import { NmMatrix } from '../sparse/nm.js';
import { blockSparse, seedOfName, unstructuredSparse } from './weights.js';

/** MLP widths stay multiples of this, as structured pruning keeps them. */
const CHANNEL_MULTIPLE = 8;

export interface ProfiledModelPlan {
  /** The target config, with per-block widths when the pruning was structured. */
  readonly config: DecoderConfig;
  /** Builds each Linear of the target in the format and sparsity its source Linear has. */
  readonly linear: LinearBuilder;
  /** Equal for plans that build the same structure (a cache key for measured speeds). */
  readonly key: string;
}

interface LinearStructure {
  readonly sparsity: number;
  /** 'dense', 'csr', 'bitmap', 'nm N:M' or 'bsr RxC', as the pruning report labels formats. */
  readonly format: string;
}

/**
 * @param target the config to build (e.g. BENCH_LLAMA_100M)
 * @param dense the pruned model's config before pruning
 * @param pruned its config after pruning (narrower blocks after structured pruning)
 * @param layers the pruning report's rows (Linears absent from it stay dense)
 */
export function planProfiledModel(target: DecoderConfig, dense: DecoderConfig, pruned: DecoderConfig, layers: readonly PrunedLayerReport[]): ProfiledModelPlan {
  const sourceBlock = (block: number) => Math.min(dense.numLayers - 1, Math.floor((block * dense.numLayers) / target.numLayers));
  const byName = new Map(layers.map((l) => [l.name, l]));
  const structureOf = (block: number, key: ProjectionKey): LinearStructure => {
    const path = LAYER_PROJECTIONS.find(([k]) => k === key)![1];
    const row = byName.get(`${layerPrefix(sourceBlock(block))}.${path}.weight`);
    // Structured pruning leaves smaller dense Linears: the widths carry its structure, not the rows.
    return row && row.format !== 'dense' ? { sparsity: row.sparsity, format: row.format } : { sparsity: 0, format: 'dense' };
  };

  const structured = pruned.layerShapes || pruned.intermediateSize !== dense.intermediateSize || pruned.numKvHeads !== dense.numKvHeads;
  const layerShapes: LayerShape[] | null = structured
    ? Array.from({ length: target.numLayers }, (_, block) => scaledShape(target, layerShapeOf(dense, 0), layerShapeOf(pruned, sourceBlock(block))))
    : null;
  const config: DecoderConfig = layerShapes ? { ...target, layerShapes } : target;

  const structures = new Map<string, LinearStructure>();
  for (let block = 0; block < target.numLayers; block++) {
    for (const [key, path] of LAYER_PROJECTIONS) structures.set(`${layerPrefix(block)}.${path}.weight`, structureOf(block, key));
  }
  const linear: LinearBuilder = (name, data, rows, cols, backend) => {
    const s = structures.get(name) ?? { sparsity: 0, format: 'dense' };
    const [kind, detail] = s.format.split(' ');
    if (kind === 'csr') return CsrMatrix.fromDense(unstructuredSparse(data, rows, cols, s.sparsity, seedOfName(name)), rows, cols, backend);
    if (kind === 'bitmap') return BitmapMatrix.fromDense(unstructuredSparse(data, rows, cols, s.sparsity, seedOfName(name)), rows, cols, backend);
    if (kind === 'nm') {
      const [n, m] = detail.split(':').map(Number);
      return NmMatrix.fromDenseByMagnitude(data, rows, cols, n, m, backend);
    }
    if (kind === 'bsr') {
      const [br, bc] = detail.split('x').map(Number);
      return BsrMatrix.fromDense(blockSparse(data, rows, cols, br, bc, s.sparsity, seedOfName(name)), rows, cols, br, bc, backend);
    }
    return tensor(data, [rows, cols], 'f32', backend);
  };
  const key = JSON.stringify({
    shapes: layerShapes,
    linears: [...structures.values()].map((s) => (s.format === 'dense' ? 'dense' : `${s.format}@${s.sparsity.toFixed(3)}`)),
  });
  return { config, linear, key };
}

/** The target's widths scaled by the fraction of channels and KV groups the pruned block kept. */
function scaledShape(target: DecoderConfig, dense: LayerShape, pruned: LayerShape): LayerShape {
  const channelFraction = pruned.intermediateSize / dense.intermediateSize;
  const groupFraction = pruned.numKvHeads / dense.numKvHeads;
  const intermediateSize = Math.max(CHANNEL_MULTIPLE, Math.round((channelFraction * target.intermediateSize) / CHANNEL_MULTIPLE) * CHANNEL_MULTIPLE);
  const numKvHeads = Math.max(1, Math.round(groupFraction * target.numKvHeads));
  return { intermediateSize, numKvHeads, numHeads: numKvHeads * (target.numHeads / target.numKvHeads) };
}
