/**
 * pruneModel's storage of unstructured layers: dense below 30% sparsity, bitmap rows up to 60%,
 * CSR above (sparse/unstructured.ts), each holding exactly the pruned weights.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { disposeDecoderWeights } from '../../src/models/decoder-weights.js';
import { LAYER_PROJECTIONS, layerPrefix } from '../../src/models/hf-names.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { pruneModel } from '../../src/pruning/pipeline.js';
import { PruneStepSchema } from '../../src/pruning/recipe.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

describe('pruneModel: unstructured storage', () => {
  // Widths 40 and 60: 50% and 90% of every row are whole numbers of weights.
  const config = tinyDecoderConfig({ hiddenSize: 40, intermediateSize: 60, numHeads: 4, numKvHeads: 2, headDim: 10, rope: { dim: 10, theta: 10000 } });

  for (const [sparsity, expected, label] of [
    [0.5, BitmapMatrix, 'bitmap'],
    [0.9, CsrMatrix, 'csr'],
    [0.2, Tensor, 'dense'],
  ] as const) {
    it(`stores a ${sparsity * 100}% magnitude prune as ${label}, at exactly that sparsity, holding the pruned weights`, async () => {
      const model = new DecoderModel(config, randomDecoderWeights(config, 7));
      const outcome = await pruneModel(model, [], PruneStepSchema.parse({ method: 'magnitude', sparsity }));
      assert.equal(outcome.layers.length, 2 * 7);
      assert.equal(outcome.sparsity, sparsity);
      for (const l of outcome.layers) {
        assert.equal(l.sparsity, sparsity, l.name);
        assert.equal(l.format, label, l.name);
      }
      for (let block = 0; block < config.numLayers; block++) {
        for (const [key, path] of LAYER_PROJECTIONS) {
          const name = `${layerPrefix(block)}.${path}.weight`;
          const stored = outcome.weights.layers[block][key].weight;
          assert.ok(stored instanceof expected, `${name}: ${String(stored)}`);
          const original = model.weights.layers[block][key].weight as Tensor;
          const [rows, cols] = original.shape;
          const before = original.readSync() as Float32Array;
          const after = stored instanceof Tensor ? (stored.readSync() as Float32Array) : stored.toDenseSync();
          if (!(stored instanceof Tensor)) assert.equal(stored.sparsity(), sparsity, name);
          // Each row loses exactly round(sparsity * cols) weights; the rest keep their values bit for bit.
          for (let r = 0; r < rows; r++) {
            let zeros = 0;
            for (let c = 0; c < cols; c++) {
              const i = r * cols + c;
              if (after[i] === 0) zeros++;
              else assert.ok(Object.is(after[i], before[i]), `${name} (${r}, ${c})`);
            }
            assert.equal(zeros, Math.round(sparsity * cols), `${name} row ${r}`);
          }
        }
      }
      for (const w of outcome.weights.layers.flatMap((layer) => LAYER_PROJECTIONS.map(([key]) => layer[key].weight))) w.dispose();
      disposeDecoderWeights(model.weights);
    });
  }
});
