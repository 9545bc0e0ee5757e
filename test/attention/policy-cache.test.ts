import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createPolicy } from '../../src/attention/registry.js';
import { PolicyKVCache, paddedSelection } from '../../src/attention/policy-cache.js';
import { attention, tensor } from '../../src/core/ops.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { cpuBackend } from '../helpers/cpu.js';
import { makeKeys, randomArray, span } from './helpers.js';

const d = 4;
const aligned = (c: number) => (c === 0 ? 1 : 0);
const shape = { layers: 1, kvHeads: [2], headDim: d, capacity: 64 };
// KV head 0's hit at 5, KV head 1's at 25: SnapKV keeps different positions per KV head.
const keyRows = makeKeys(48, 2, d, (p, g, c) => ((g === 0 && p === 5) || (g === 1 && p === 25) ? 20 * aligned(c) : 0.01 * ((p * 3 + c) % 5)));
const valueRows = randomArray(48 * 2 * d, 7);
const queryRows = makeKeys(48, 4, d, (_p, _h, c) => aligned(c));
const rows = (data: Float32Array, from: number, to: number, width: number) => data.slice(from * width, to * width);

function prefilled(policy: string, options: Record<string, unknown>, length = 40): PolicyKVCache {
  const cache = new PolicyKVCache(shape, createPolicy(policy, options));
  cache.append(0, tensor(rows(keyRows, 0, length, 2 * d), [length, 2, d]), tensor(rows(valueRows, 0, length, 2 * d), [length, 2, d]));
  cache.select(0, length - 1, tensor(rows(queryRows, 0, length, 4 * d), [length, 4, d]));
  cache.commit(length);
  return cache;
}

function step(cache: PolicyKVCache, withQuery = true) {
  const p = cache.length;
  cache.append(0, tensor(rows(keyRows, p, p + 1, 2 * d), [1, 2, d]), tensor(rows(valueRows, p, p + 1, 2 * d), [1, 2, d]));
  const q = tensor(rows(queryRows, p, p + 1, 4 * d), [1, 4, d]);
  const selected = cache.select(0, p, withQuery ? q : undefined);
  return { q, selected };
}

before(async () => {
  await cpuBackend();
});

describe('PolicyKVCache', () => {
  it('hands the attention op per-KV-head selections that it attends exactly', async () => {
    const cache = prefilled('snapkv', { budget: 5, window: 4, kernel: 1 });
    const { q, selected } = step(cache);
    assert.ok(selected);
    assert.deepEqual(selected.shape, [2, 6]);
    assert.deepEqual([...(await selected.read())], [5, ...span(36, 41), 25, ...span(36, 41)]);
    const out = await attention(q, cache.keys(0), cache.values(0), { length: 41, queryStart: 40, scale: 0.5, positionsPerKvHead: selected }).read();
    // Host reference: query head h reads KV head h / 2 over that head's positions only.
    const lists = [[5, ...span(36, 41)], [25, ...span(36, 41)]];
    const qh = rows(queryRows, 40, 41, 4 * d);
    for (let h = 0; h < 4; h++) {
      const g = Math.floor(h / 2);
      const logits = lists[g].map((p) => 0.5 * [0, 1, 2, 3].reduce((s, c) => s + qh[h * d + c] * keyRows[(p * 2 + g) * d + c], 0));
      const m = Math.max(...logits);
      const w = logits.map((l) => Math.exp(l - m));
      const z = w.reduce((a, b) => a + b, 0);
      for (let c = 0; c < d; c++) {
        const expected = lists[g].reduce((s, p, i) => s + (w[i] / z) * valueRows[(p * 2 + g) * d + c], 0);
        assert.ok(Math.abs(out[h * d + c] - expected) < 1e-5, `head ${h} channel ${c}: ${out[h * d + c]} vs ${expected}`);
      }
    }
  });

  it('never selects an evicted position again, also for a later multi-token turn', () => {
    const cache = prefilled('snapkv', { budget: 5, window: 4, kernel: 1 });
    step(cache);
    cache.commit(1);
    // A second turn of 4 tokens attends to what is kept plus itself.
    cache.append(0, tensor(rows(keyRows, 41, 45, 2 * d), [4, 2, d]), tensor(rows(valueRows, 41, 45, 2 * d), [4, 2, d]));
    cache.select(0, 44, tensor(rows(queryRows, 41, 45, 4 * d), [4, 4, d]));
    assert.deepEqual(cache.lastSelection(0)!.map((l) => [...l]), [
      [5, ...span(36, 45)],
      [25, ...span(36, 45)],
    ]);
    cache.commit(4);
    const { selected } = step(cache);
    assert.ok(selected);
    const kept = cache.lastSelection(0)!;
    for (let g = 0; g < 2; g++) for (const p of kept[g]) assert.ok(p === 5 + 20 * g || p >= 36, `position ${p} was evicted at prefill`);
  });

  it('reports the bytes kept, the bytes read by the last step, and full fallbacks', () => {
    const cache = prefilled('snapkv', { budget: 5, window: 4, kernel: 1 });
    step(cache);
    cache.commit(1);
    const rowBytes = d * 2 * 4;
    const r = cache.report();
    assert.equal(r.policy, 'snapkv');
    assert.equal(r.kvBytesKept, 2 * 6 * rowBytes);
    assert.equal(r.kvBytesFull, 2 * 41 * rowBytes);
    assert.equal(r.bytesReadPerStep, 2 * 6 * rowBytes);
    assert.deepEqual(r.fullFallbackLayers, []);

    const quest = prefilled('quest', { budget: 1000, denseLayers: 0 });
    assert.equal(step(quest).selected, null);
    assert.deepEqual(quest.report().fullFallbackLayers, [0]);
    assert.equal(quest.report().bytesReadPerStep, 2 * 41 * rowBytes);
  });

  it('a head-agnostic selection goes out as one list; full attends to everything', async () => {
    const stream = prefilled('streaming-llm', { budget: 8, sinks: 2 });
    const { selected } = step(stream);
    assert.deepEqual(selected!.shape, [8]);
    assert.deepEqual([...(await selected!.read())], [0, 1, ...span(35, 41)]);
    assert.equal(step(prefilled('full', {})).selected, null);
  });

  it('says which input is missing when the model passes no queries', () => {
    const quest = prefilled('quest', { budget: 16, denseLayers: 0 });
    assert.throws(() => step(quest, false), /quest needs each decode query/);
    const cache = new PolicyKVCache(shape, createPolicy('snapkv', { budget: 8, window: 4 }));
    cache.append(0, tensor(rows(keyRows, 0, 40, 2 * d), [40, 2, d]), tensor(rows(valueRows, 0, 40, 2 * d), [40, 2, d]));
    assert.throws(() => cache.select(0, 39), /snapkv needs the prompt's queries at prefill/);
  });

  it('pads per-head lists with -1', () => {
    assert.deepEqual([...paddedSelection([Int32Array.from([1, 2, 3]), Int32Array.from([4])])], [1, 2, 3, 4, -1, -1]);
  });
});

describe('PolicyKVCache in the decoder', () => {
  it('plugs into DecoderModel.forward: equal to the full cache while the budget covers the context, different after', () => {
    const config = tinyDecoderConfig();
    const model = new DecoderModel(config, randomDecoderWeights(config, 7));
    const prompt = [3, 17, 5, 42, 8, 8, 1, 30, 29, 11];
    const full = model.createCache(prompt.length);
    const policyCache = new PolicyKVCache(full.shape, createPolicy('streaming-llm', { budget: 6, sinks: 1 }));
    const chunks = [prompt.slice(0, 4), ...prompt.slice(4).map((t) => [t])];
    let seen = 0;
    for (const chunk of chunks) {
      const a = model.forward([{ tokens: chunk, cache: full }]).readSync() as Float32Array;
      const b = model.forward([{ tokens: chunk, cache: policyCache }]).readSync() as Float32Array;
      seen += chunk.length;
      const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      if (seen <= 6) assert.ok(maxDiff < 1e-5, `length ${seen}: the budget covers the context, yet logits differ by ${maxDiff}`);
      else assert.ok(maxDiff > 1e-4, `length ${seen}: sinks + window should change the logits`);
    }
    assert.deepEqual(policyCache.lastSelection(0)!.map((l) => [...l]), Array.from({ length: full.shape.kvHeads[0] }, () => [0, 5, 6, 7, 8, 9]));
    full.dispose();
    policyCache.dispose();
  });

  it('lets a prompt chunk attend to all of itself even when the budget is smaller than the prompt', () => {
    const config = tinyDecoderConfig();
    const model = new DecoderModel(config, randomDecoderWeights(config, 9));
    const prompt = [3, 17, 5, 42, 8, 8, 1, 30, 29, 11];
    const full = model.createCache(12);
    const policyCache = new PolicyKVCache(full.shape, createPolicy('streaming-llm', { budget: 4, sinks: 1 }));
    const a = model.forward([{ tokens: prompt, cache: full }], { allLogits: true }).readSync() as Float32Array;
    const b = model.forward([{ tokens: prompt, cache: policyCache }], { allLogits: true }).readSync() as Float32Array;
    assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-5), 'the prompt itself is attended densely');
    assert.equal(policyCache.lastSelection(0), null);
    const c = model.forward([{ tokens: [7], cache: full }]).readSync() as Float32Array;
    const e = model.forward([{ tokens: [7], cache: policyCache }]).readSync() as Float32Array;
    assert.ok(c.some((v, i) => Math.abs(v - e[i]) > 1e-4), 'decode reads sinks + window only');
    assert.deepEqual([...policyCache.lastSelection(0)![0]], [0, 8, 9, 10]);
    assert.equal(policyCache.report().kvBytesKept, 2 * 2 * 4 * 8 * 2 * 4);
    full.dispose();
    policyCache.dispose();
  });
});
