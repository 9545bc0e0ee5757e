/**
 * The pruning benchmark's pieces that decide what is reported: carrying a pruning result's
 * structure to the larger speed model (sparsity-profile.ts), and the checks on records.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type PruningRecord, checkPruningBars } from '../../src/bench/pruning-cases.js';
import { planProfiledModel } from '../../src/bench/sparsity-profile.js';
import { layerShapeOf } from '../../src/models/decoder-config.js';
import { LAYER_PROJECTIONS, layerPrefix } from '../../src/models/hf-names.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import type { PrunedLayerReport } from '../../src/pruning/pipeline.js';
import { formatOf } from '../../src/sparse/linear.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import type { SparseMatrix } from '../../src/sparse/sparse-matrix.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

/** Report rows for every Linear of a `layers`-block model: `format(block, key)` and sparsity. */
function reports(layers: number, row: (block: number, key: string) => { format: string; sparsity: number }): PrunedLayerReport[] {
  const out: PrunedLayerReport[] = [];
  for (let block = 0; block < layers; block++) {
    for (const [key, path] of LAYER_PROJECTIONS) {
      const { format, sparsity } = row(block, key);
      out.push({ name: `${layerPrefix(block)}.${path}.weight`, block, rows: 8, cols: 8, budget: sparsity, sparsity, format, bytes: 0, notes: {} });
    }
  }
  return out;
}

describe('sparsity profile for the speed model', () => {
  const source = tinyDecoderConfig({ numLayers: 2 });
  const target = tinyDecoderConfig({ numLayers: 4, hiddenSize: 64, intermediateSize: 96, numHeads: 4, numKvHeads: 2 });

  it('gives block l the structure of source block floor(l * L_source / L_target), projection by projection', () => {
    // Source block 0: CSR at 60% in q, 2:4 in the MLP; block 1: CSR at 80% everywhere, dense o.
    const rows = reports(2, (block, key) =>
      block === 0
        ? key === 'q' ? { format: 'csr', sparsity: 0.6 } : ['gate', 'up', 'down'].includes(key) ? { format: 'nm 2:4', sparsity: 0.5 } : { format: 'dense', sparsity: 0 }
        : key === 'o' ? { format: 'dense', sparsity: 0.1 } : { format: 'csr', sparsity: 0.8 },
    );
    const plan = planProfiledModel(target, source, source, rows);
    assert.equal(plan.config, target);
    const weights = randomDecoderWeights(plan.config, 1, plan.linear);
    const sparsityOf = (w: unknown) => (w as SparseMatrix<unknown>).sparsity();
    for (const block of [0, 1]) {
      assert.equal(formatOf(weights.layers[block].q.weight), 'csr');
      assert.ok(Math.abs(sparsityOf(weights.layers[block].q.weight) - 0.6) < 0.02);
      assert.equal(formatOf(weights.layers[block].k.weight), 'dense');
      assert.ok(weights.layers[block].up.weight instanceof NmMatrix);
    }
    for (const block of [2, 3]) {
      assert.ok(Math.abs(sparsityOf(weights.layers[block].down.weight) - 0.8) < 0.02);
      assert.equal(formatOf(weights.layers[block].o.weight), 'dense');
    }
    // The same structure keys the same; another does not.
    assert.equal(planProfiledModel(target, source, source, rows).key, plan.key);
    assert.notEqual(planProfiledModel(target, source, source, reports(2, () => ({ format: 'csr', sparsity: 0.8 }))).key, plan.key);
    for (const t of weights.tensors()) t.dispose();
  });

  it('scales MLP widths and KV groups by what structured pruning kept in each source block', () => {
    const pruned = tinyDecoderConfig({
      numLayers: 2,
      layerShapes: [
        { intermediateSize: 24, numHeads: 4, numKvHeads: 2 },
        { intermediateSize: 48, numHeads: 2, numKvHeads: 1 },
      ],
    });
    const plan = planProfiledModel(target, source, pruned, reports(2, () => ({ format: 'dense', sparsity: 0 })));
    // Half the channels of 96 in blocks 0-1; half the KV groups (1 of 2, 2 query heads each) in blocks 2-3.
    assert.deepEqual([0, 1, 2, 3].map((l) => layerShapeOf(plan.config, l)), [
      { intermediateSize: 48, numKvHeads: 2, numHeads: 4 },
      { intermediateSize: 48, numKvHeads: 2, numHeads: 4 },
      { intermediateSize: 96, numKvHeads: 1, numHeads: 2 },
      { intermediateSize: 96, numKvHeads: 1, numHeads: 2 },
    ]);
    const weights = randomDecoderWeights(plan.config, 1, plan.linear);
    assert.deepEqual(weights.layers[0].gate.weight.shape, [48, 64]);
    assert.deepEqual(weights.layers[3].q.weight.shape, [2 * 8, 64]);
    for (const t of weights.tensors()) t.dispose();
  });
});

function record(fields: Partial<PruningRecord>): PruningRecord {
  return {
    method: 'wanda', refine: null, pattern: 'unstructured', allocation: 'uniform', sparsity: 0.5, achievedSparsity: 0.5,
    perplexity: 30, densePerplexity: 26, decodeSpeedupVsDense: 1, decodeMsPerToken: 10, denseDecodeMsPerToken: 10,
    fileBytes: 1, denseFileBytes: 2, pruneSeconds: 1, ...fields,
  };
}

describe('pruning benchmark checks', () => {
  it('hold when the papers\' orderings hold and fail when they do not', () => {
    const records = [
      record({ method: 'magnitude', perplexity: 40 }),
      record({ method: 'wanda', perplexity: 32, decodeSpeedupVsDense: 0.9 }),
      record({ method: 'sparsegpt', perplexity: 41 }),
      record({ method: 'wanda', sparsity: 0.7, perplexity: 80 }),
      record({ method: 'wanda', sparsity: 0.7, allocation: 'owl', perplexity: 65 }),
      record({ method: 'wanda', sparsity: 0.7, refine: 'dsnot', perplexity: 80 }),
    ];
    const bars = Object.fromEntries(checkPruningBars(records).map((b) => [b.bar, b]));
    assert.equal(bars['50%: magnitude ppl / Wanda ppl'].pass, true);
    assert.equal(bars['50%: magnitude ppl / Wanda ppl'].value, 40 / 32);
    assert.equal(bars['50%: magnitude ppl / SparseGPT ppl'].pass, false);
    assert.equal(bars['70%: Wanda uniform ppl / OWL ppl'].pass, true);
    assert.equal(bars['70%: Wanda ppl / Wanda+DSnoT ppl'].pass, false, 'equal perplexity is no improvement');
    assert.equal(bars['50% unstructured: decode vs dense'].pass, false);
    // Checks whose records are absent are left out rather than passed.
    assert.equal(bars['2:4: magnitude ppl / Wanda ppl'], undefined);
    assert.equal(bars['70%: Wanda uniform ppl / EvoPress ppl'], undefined);
  });
});
