/**
 * generate() with a KV-cache policy (kvCache: policyCaches(...)) and block-sparse prefill: the
 * full policy and any policy whose budget covers the context decode exactly as the plain cache;
 * the report carries the bytes kept, the bytes read per step and the fallback; bad input fails
 * before any work.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { policyCaches } from '../../src/attention/policy-caches.js';
import { sparsePrefill } from '../../src/attention/prefill/sparse-prefill.js';
import { generate } from '../../src/models/generate.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { cpuBackend } from '../helpers/cpu.js';

const config = tinyDecoderConfig();
let model: DecoderModel;
const prompts = [
  [3, 17, 5, 42, 8, 8, 1, 30, 29, 11, 4, 9, 23, 31, 2, 6],
  [12, 40, 7, 7, 19],
];
const maxNewTokens = 10;
// Keys and values of one position in one layer and KV head: headDim 8, two f32 rows.
const rowBytes = config.headDim * 2 * 4;
const kvHeadsAll = config.numLayers * config.numKvHeads;

before(async () => {
  await cpuBackend();
  model = new DecoderModel(config, randomDecoderWeights(config, 21));
});

describe('generate with a KV-cache policy', () => {
  it('the full policy decodes as the plain cache and reports full bytes', async () => {
    const plain = await generate(model, prompts, { maxNewTokens, eosTokenIds: [] });
    const full = await generate(model, prompts, { maxNewTokens, eosTokenIds: [], kvCache: policyCaches('full') });
    assert.deepEqual(full.tokens, plain.tokens);
    assert.equal(plain.stats.kvPolicy, undefined);
    const r = full.stats.kvPolicy!;
    assert.equal(r.policy, 'full');
    assert.equal(r.budget, null);
    // Committed positions: prompt + new tokens - 1 (the last new token is never fed back).
    const committed = prompts.reduce((s, p) => s + p.length + maxNewTokens - 1, 0);
    assert.equal(r.kvBytesFull, kvHeadsAll * committed * rowBytes);
    assert.equal(r.kvBytesKept, r.kvBytesFull);
    assert.equal(r.bytesReadPerStep, r.kvBytesFull, 'the last step of each sequence read all of its cache');
    assert.equal(r.fellBackToFull, false);
  });

  for (const [name, options] of [
    ['quest', { budget: 1024, denseLayers: 0 }],
    ['streaming-llm', { budget: '1024' }],
    ['snapkv', { budget: 64 }],
    ['token-select', { budget: 1024 }],
    ['quest', { budget: '100%', denseLayers: 0 }],
  ] as const) {
    it(`${name} at a budget of ${options.budget} (>= the context) decodes as full and says it fell back`, async () => {
      const plain = await generate(model, prompts, { maxNewTokens, eosTokenIds: [] });
      const policy = await generate(model, prompts, { maxNewTokens, eosTokenIds: [], kvCache: policyCaches(name, options) });
      assert.deepEqual(policy.tokens, plain.tokens);
      const r = policy.stats.kvPolicy!;
      assert.equal(r.fellBackToFull, true);
      assert.deepEqual(r.fullFallbackLayers, [0, 1]);
      assert.equal(r.bytesReadPerStep >= r.kvBytesFull, true, 'a fallback reads everything');
    });
  }

  it('a small budget reads less per step and keeps what it says', async () => {
    const quest = await generate(model, [prompts[0]], { maxNewTokens, eosTokenIds: [], kvCache: policyCaches('quest', { budget: 8, pageSize: 4, denseLayers: 0 }) });
    const r = quest.stats.kvPolicy!;
    assert.equal(r.fellBackToFull, false);
    assert.equal(r.budget, '8 tokens');
    // The last step queries position 24 (16 + 10 - 1 positions): the best earlier page of 4 plus
    // its own page, which holds 1 position so far; plus the bounds of all 7 pages, read to score.
    const context = prompts[0].length + maxNewTokens - 1;
    assert.equal(context, 25);
    assert.equal(r.bytesReadPerStep, kvHeadsAll * (4 + 1) * rowBytes + config.numLayers * 7 * config.numKvHeads * config.headDim * 2 * 4);
    assert.ok(r.bytesReadPerStep < r.kvBytesFull / 2);

    const stream = await generate(model, [prompts[0]], { maxNewTokens, eosTokenIds: [], kvCache: policyCaches('streaming-llm', { budget: '1/4', sinks: 1 }) });
    const s = stream.stats.kvPolicy!;
    assert.equal(s.budget, '0.25 of the context');
    // StreamingLLM resolves a fraction once, against the prompt (evicted positions cannot return): 1/4 of 16.
    assert.equal(s.bytesReadPerStep, kvHeadsAll * 4 * rowBytes);
  });

  it('block-sparse prefill through generate: all blocks kept decodes as dense', async () => {
    const plain = await generate(model, prompts, { maxNewTokens, eosTokenIds: [] });
    const prefill = sparsePrefill({ pattern: 'block-top-k', blockSize: 4, topK: 4 });
    const sparse = await generate(model, prompts, { maxNewTokens, eosTokenIds: [], prefill, kvCache: policyCaches('full') });
    assert.deepEqual(sparse.tokens, plain.tokens);
    assert.deepEqual(prefill.keptShare, [1, 1]);
  });

  it('rejects an unknown policy (listing the known ones), a zero budget and a missing calibration', () => {
    assert.throws(() => policyCaches('lru', { budget: 8 }), /unknown KV-cache policy 'lru'; known: full, streaming-llm, h2o, snapkv/);
    assert.throws(() => policyCaches('quest', { budget: 0 }), /0 tokens keeps nothing/);
    assert.throws(() => policyCaches('quest', { budget: '0%' }), /fraction of 0 keeps nothing/);
    assert.throws(() => policyCaches('quest'), /quest needs a KV budget/);
    assert.throws(() => policyCaches('double-sparsity', { budget: 8 }), /needs an offline channel calibration/);
    assert.throws(() => policyCaches('duo-attention', { budget: 8 }), /needs its heads classified offline/);
  });
});
