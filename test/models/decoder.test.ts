/**
 * The decoder forward pass against itself: incremental decoding through the KV cache gives the
 * logits of a full forward pass; a ragged batch gives each sequence's unbatched logits; sparse
 * weights give the logits of their dense equivalents. (Parity with HF transformers is in
 * hf-parity.test.ts.)
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tensor } from '../../src/core/ops.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { generate } from '../../src/models/generate.js';
import { createSampler } from '../../src/models/sampling.js';
import { assertClose } from '../helpers/numeric.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const prompt = [3, 17, 5, 42, 8, 8, 1, 30, 29, 11];

function fullLogits(model: DecoderModel, ids: number[]): Float32Array {
  const cache = model.createCache(ids.length);
  const out = model.forward([{ tokens: ids, cache }], { allLogits: true });
  const data = out.readSync() as Float32Array;
  out.dispose();
  cache.dispose();
  return data;
}

describe('decoder forward', () => {
  for (const variant of [
    { name: 'MHA', config: tinyDecoderConfig({ numKvHeads: 4 }) },
    { name: 'GQA with biases, tied embeddings', config: tinyDecoderConfig({ attentionBias: true, outputBias: true, tieWordEmbeddings: true }) },
    { name: 'sliding window 4', config: tinyDecoderConfig({ slidingWindow: 4 }) },
  ]) {
    it(`${variant.name}: step-by-step decoding through the cache equals the full forward`, () => {
      const model = new DecoderModel(variant.config, randomDecoderWeights(variant.config, 7));
      const vocab = variant.config.vocabSize;
      const full = fullLogits(model, prompt);
      const cache = model.createCache(prompt.length);
      // Prefill 4 tokens, then one at a time.
      const chunks = [prompt.slice(0, 4), ...prompt.slice(4).map((t) => [t])];
      let seen = 0;
      for (const chunk of chunks) {
        const logits = model.forward([{ tokens: chunk, cache }]);
        seen += chunk.length;
        const row = seen - 1;
        assertClose(logits.readSync(), full.subarray(row * vocab, (row + 1) * vocab), 1e-5, `row ${row}`);
        logits.dispose();
      }
      cache.dispose();
      model.weights.tensors().forEach((t) => t.dispose());
    });
  }

  it('a ragged batch gives each sequence its own logits', () => {
    const config = tinyDecoderConfig();
    const model = new DecoderModel(config, randomDecoderWeights(config, 8));
    const a = [5, 6, 7, 8, 9, 10, 11];
    const b = [40, 2];
    const [va, vb] = [fullLogits(model, a), fullLogits(model, b)];
    const caches = [model.createCache(8), model.createCache(8)];
    const logits = model.forward([{ tokens: a, cache: caches[0] }, { tokens: b, cache: caches[1] }]).readSync() as Float32Array;
    const V = config.vocabSize;
    assertClose(logits.subarray(0, V), va.subarray(6 * V, 7 * V), 1e-5, 'sequence a');
    assertClose(logits.subarray(V, 2 * V), vb.subarray(V, 2 * V), 1e-5, 'sequence b');
    // A decode step for both.
    const step = model.forward([{ tokens: [12], cache: caches[0] }, { tokens: [3], cache: caches[1] }]).readSync() as Float32Array;
    assertClose(step.subarray(0, V), fullLogits(model, [...a, 12]).subarray(7 * V, 8 * V), 1e-5, 'sequence a, decode');
    assertClose(step.subarray(V, 2 * V), fullLogits(model, [...b, 3]).subarray(2 * V, 3 * V), 1e-5, 'sequence b, decode');
    caches.forEach((c) => c.dispose());
  });

  it('sparse weights give the logits of their dense equivalents', () => {
    const config = tinyDecoderConfig({ intermediateSize: 48 });
    const dense: Record<string, Float32Array> = {};
    const pruned = (data: Float32Array) => data.map((v, i) => (i % 3 === 0 ? v : 0));
    const sparse = new DecoderModel(
      config,
      randomDecoderWeights(config, 9, (name, data, rows, cols, backend) => {
        if (name.includes('mlp')) {
          const nm = NmMatrix.fromDenseByMagnitude(data, rows, cols, 2, 4, backend);
          dense[name] = nm.toDenseSync();
          return nm;
        }
        dense[name] = pruned(data);
        return CsrMatrix.fromDense(dense[name], rows, cols, backend);
      }),
    );
    const asDense = new DecoderModel(config, randomDecoderWeights(config, 9, (name, _d, rows, cols, backend) => tensor(dense[name], [rows, cols], 'f32', backend)));
    assertClose(fullLogits(sparse, prompt), fullLogits(asDense, prompt), 1e-5, 'sparse vs dense logits');
  });

  it('generates greedily and with a seeded sampler, stopping at eos', async () => {
    const config = tinyDecoderConfig({ eosTokenIds: [] });
    const model = new DecoderModel(config, randomDecoderWeights(config, 10));
    const greedy = await generate(model, [prompt], { maxNewTokens: 6 });
    assert.equal(greedy.tokens[0].length, 6);
    // Greedy tokens are the argmax of the full forward at each step.
    const ids = [...prompt];
    for (const t of greedy.tokens[0]) {
      const logits = fullLogits(model, ids).subarray((ids.length - 1) * config.vocabSize);
      assert.equal(t, createSampler()(logits));
      ids.push(t);
    }
    const s1 = await generate(model, [prompt], { maxNewTokens: 8, temperature: 1, topK: 10, topP: 0.9, seed: 3 });
    const s2 = await generate(model, [prompt], { maxNewTokens: 8, temperature: 1, topK: 10, topP: 0.9, seed: 3 });
    assert.deepEqual(s1.tokens, s2.tokens);
    const stop = greedy.tokens[0][2];
    const stopped = await generate(model, [prompt], { maxNewTokens: 6, eosTokenIds: [stop] });
    assert.deepEqual(stopped.tokens[0], greedy.tokens[0].slice(0, greedy.tokens[0].indexOf(stop) + 1));
    await assert.rejects(generate(model, [prompt], { maxNewTokens: 0 }), /positive integer/);
    await assert.rejects(generate(model, [[]], { maxNewTokens: 1 }), /at least one token/);
    await assert.rejects(generate(model, [new Array(200).fill(1)], { maxNewTokens: 1 }), /context of 128/);
  });
});
