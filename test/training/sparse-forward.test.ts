/**
 * Masked projections through the CSR kernels while training (sparse-forward.ts): the loss and
 * every gradient equal the dense path's for the same masked weights; patterns follow mask
 * changes; layers above the density bound stay dense.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { mul, tensor } from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import { decoderLoss, initDecoderParameters, SequenceConstants } from '../../src/models/decoder-train.js';
import { tinyDecoderConfig } from '../../src/models/random-weights.js';
import { assign } from '../../src/nn/optim/optimizer.js';
import { SparseForwardWeights } from '../../src/training/sparse-forward.js';
import { decoderSparseLayers } from '../../src/training/tasks/language-model.js';
import { assertClose } from '../helpers/numeric.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

function randomMask(n: number, density: number, rng: Random): Uint8Array {
  return Uint8Array.from({ length: n }, () => (rng.uniform() < density ? 1 : 0));
}

describe('sparse forward in training', () => {
  it('loss and gradients equal the dense path for the same masked weights', async () => {
    const config = tinyDecoderConfig({ attentionBias: true });
    const params = initDecoderParameters(config, 2, 0.2);
    const layers = decoderSparseLayers(config, params);
    const rng = new Random(3);
    const masks = new Map(layers.map((l) => [l.name, randomMask(l.rows * l.cols, 0.2, rng)]));
    for (const l of layers) {
      const m = tensor(Float32Array.from(masks.get(l.name)!), l.param.shape);
      assign(l.param, () => mul(l.param.value, m));
      m.dispose();
    }
    const T = 7;
    const constants = new SequenceConstants(T, config);
    const inputs = tensor(Int32Array.from({ length: 2 * T }, (_, i) => (i * 7) % config.vocabSize), [2, T], 'i32');
    const targets = tensor(Int32Array.from({ length: 2 * T }, (_, i) => (i * 11 + 3) % config.vocabSize), [2, T], 'i32');
    const run = async (sparse: SparseForwardWeights | null) => {
      const loss = decoderLoss(config, params, inputs, targets, constants, sparse ? { sparseWeights: (n) => sparse.get(n) } : {});
      ag.backward(loss);
      const grads = new Map<string, Float32Array>();
      for (const [name, p] of params) grads.set(name, (await p.grad!.read()) as Float32Array);
      ag.zeroGrad([...params.values()]);
      return { loss: ((await loss.value.read()) as Float32Array)[0], grads };
    };
    const dense = await run(null);
    const sparse = new SparseForwardWeights(layers, 0.3);
    sparse.refresh(masks);
    assert.equal(layers.filter((l) => sparse.get(l.name)).length, layers.length, 'every layer at ~20% density runs sparse');
    const viaCsr = await run(sparse);
    assert.ok(Math.abs(dense.loss - viaCsr.loss) <= 1e-5 * Math.abs(dense.loss), `loss ${viaCsr.loss} vs ${dense.loss}`);
    for (const [name, g] of dense.grads) assertClose(viaCsr.grads.get(name)!, g, 1e-4, name);

    // A changed mask rebuilds that layer's pattern; a dense-enough mask falls back to the dense path.
    const first = layers[0];
    const before = sparse.get(first.name)!.forward;
    const denser = new Map(masks);
    denser.set(first.name, randomMask(first.rows * first.cols, 0.9, rng));
    const changed = new Map(masks);
    changed.set(layers[1].name, randomMask(layers[1].rows * layers[1].cols, 0.2, rng));
    sparse.refresh(changed);
    assert.equal(sparse.get(first.name)!.forward, before, 'an unchanged mask keeps its pattern');
    assert.notEqual(sparse.get(layers[1].name)!.forward.nnz, undefined);
    sparse.refresh(denser);
    assert.equal(sparse.get(first.name), undefined, 'a layer at 90% density runs dense');
    sparse.dispose();
    constants.dispose();
  });
});
