/**
 * The differentiable decoder (decoder-train.ts) against the inference engine and against finite
 * differences: the same weights give DecoderModel.forward's logits, and its loss gradient along
 * a random direction matches a central difference of the loss.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { add, scale, tensor } from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import { decoderLogits, decoderLoss, decoderWeightsOf, initDecoderParameters, SequenceConstants } from '../../src/models/decoder-train.js';
import { DecoderModel } from '../../src/models/llama.js';
import { tinyDecoderConfig } from '../../src/models/random-weights.js';
import { assertClose } from '../helpers/numeric.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const sequences = [
  [3, 17, 5, 42, 8, 8, 1, 30, 29],
  [7, 7, 2, 49, 0, 13, 21, 4, 40],
];

describe('differentiable decoder', () => {
  for (const variant of [
    { name: 'GQA', config: tinyDecoderConfig() },
    { name: 'MHA, biases, tied embeddings', config: tinyDecoderConfig({ numKvHeads: 4, attentionBias: true, tieWordEmbeddings: true }) },
  ]) {
    it(`${variant.name}: logits equal the inference forward pass for the same weights`, () => {
      const { config } = variant;
      // Larger than HF's 0.02 so that attention is far from uniform and differences would show.
      const params = initDecoderParameters(config, 5, 0.3);
      const T = sequences[0].length;
      const constants = new SequenceConstants(T, config);
      const ids = tensor(Int32Array.from(sequences.flat()), [2, T], 'i32');
      const logits = ag.noGrad(() => decoderLogits(config, params, ids, constants));
      const got = logits.value.readSync() as Float32Array;
      const model = new DecoderModel(config, decoderWeightsOf(config, params));
      for (let b = 0; b < 2; b++) {
        const cache = model.createCache(T);
        const want = model.forward([{ tokens: sequences[b], cache }], { allLogits: true });
        const stride = T * config.vocabSize;
        assertClose(got.subarray(b * stride, (b + 1) * stride), want.readSync() as Float32Array, 1e-5, `sequence ${b}`);
        want.dispose();
        cache.dispose();
      }
      constants.dispose();
    });
  }

  it('the loss gradient along a random direction matches a central difference', async () => {
    const config = tinyDecoderConfig({ numLayers: 1, vocabSize: 20 });
    const params = initDecoderParameters(config, 3, 0.2);
    const T = 6;
    const constants = new SequenceConstants(T, config);
    const inputs = tensor(Int32Array.from([1, 5, 9, 2, 2, 7, 3, 3, 0, 19, 4, 11]), [2, T], 'i32');
    const targets = tensor(Int32Array.from([5, 9, 2, 2, 7, 1, 3, 0, 19, 4, 11, 6]), [2, T], 'i32');
    const loss = decoderLoss(config, params, inputs, targets, constants);
    ag.backward(loss);
    // Direction d with one N(0, 1) entry per parameter; <grad, d> against (L(p + e d) - L(p - e d)) / 2e.
    const rng = new Random(11);
    const directions = new Map<string, Float32Array>();
    let analytic = 0;
    for (const [name, p] of params) {
      const d = Float32Array.from({ length: p.value.size }, () => rng.normal());
      directions.set(name, d);
      const g = (await p.grad!.read()) as Float32Array;
      for (let i = 0; i < d.length; i++) analytic += g[i] * d[i];
    }
    const lossAt = (epsilon: number) => {
      const shifted = new Map([...params].map(([name, p]) => [name, ag.parameter(add(p.value, scale(tensor(directions.get(name)!, p.shape), epsilon)), name)]));
      const value = ag.noGrad(() => decoderLoss(config, shifted, inputs, targets, constants)).value.readSync() as Float32Array;
      return value[0];
    };
    const epsilon = 1e-3;
    const numeric = (lossAt(epsilon) - lossAt(-epsilon)) / (2 * epsilon);
    assert.ok(Math.abs(analytic) > 1e-2, `the directional derivative ${analytic} is too small to test`);
    assert.ok(Math.abs(numeric - analytic) <= 0.02 * Math.abs(analytic), `analytic ${analytic} vs numeric ${numeric}`);
    constants.dispose();
  });

  it('rejects ids of the wrong shape or length', () => {
    const config = tinyDecoderConfig();
    const params = initDecoderParameters(config, 1);
    const constants = new SequenceConstants(4, config);
    assert.throws(() => decoderLogits(config, params, tensor(Int32Array.from([1, 2, 3, 4]), [4], 'i32'), constants), /i32 \[batch, length\]/);
    assert.throws(() => decoderLogits(config, params, tensor(Int32Array.from([1, 2, 3]), [1, 3], 'i32'), constants), /constants for 4/);
    constants.dispose();
  });
});
