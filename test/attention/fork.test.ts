/**
 * KVCache.fork and KVPolicyState.clone: a fork decodes exactly as a cache that lived the same
 * history (bitwise logits, equal selections), and after the fork the original and the copy never
 * affect each other, also once the original is disposed. Every registered policy is covered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrateDoubleSparsity } from '../../src/attention/double-sparsity.js';
import { classifyHeads } from '../../src/attention/duo-attention.js';
import type { KVPolicy, KVPolicyState } from '../../src/attention/policy.js';
import { PolicyKVCache } from '../../src/attention/policy-cache.js';
import { createPolicy, POLICY_NAMES, type PolicyOptions } from '../../src/attention/registry.js';
import { tensor } from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import { layerShapeOf } from '../../src/models/decoder-config.js';
import { FullKVCache, type KVCache } from '../../src/models/kv-cache.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { cpuBackend } from '../helpers/cpu.js';
import { randomArray } from './helpers.js';

await cpuBackend();
const config = tinyDecoderConfig();
const model = new DecoderModel(config, randomDecoderWeights(config, 11));
const capacity = 96;
const shape = { layers: config.numLayers, kvHeads: Array.from({ length: config.numLayers }, (_, l) => layerShapeOf(config, l).numKvHeads), headDim: config.headDim, capacity };

// Calibrations from random per-layer samples (what the policies' own tests do with crafted ones).
const { numHeads: heads, numKvHeads: kvHeads, headDim } = config;
const samples = Array.from({ length: config.numLayers }, (_, l) => ({
  queries: randomArray(48 * heads * headDim, 100 + l),
  keys: randomArray(48 * kvHeads * headDim, 200 + l),
  heads,
  kvHeads,
  headDim,
}));
const headKinds = classifyHeads(samples, { sinks: 2, window: 6, retrievalShare: 0.5, queryRows: 8 });

/** Options under which each policy selects or evicts within a 40-token prompt. */
const OPTIONS: Readonly<Record<string, PolicyOptions>> = {
  full: {},
  'streaming-llm': { budget: 10, sinks: 2 },
  h2o: { budget: 12 },
  snapkv: { budget: 12, window: 4 },
  pyramidkv: { budget: 12, window: 4 },
  quest: { budget: 8, pageSize: 4, denseLayers: 1 },
  'token-select': { budget: 12, sinks: 2, recent: 4, similarityThreshold: 0.2 },
  'double-sparsity': { budget: 10, recent: 2, calibration: calibrateDoubleSparsity(samples, 3) },
  'duo-attention': { heads: headKinds, sinks: 2, window: 6 },
  lserve: { budget: 32, heads: headKinds, sinks: 2, window: 6, pageSize: 16 },
  zipvl: { attentionShare: 0.8, window: 4 },
};

const rng = new Random(5);
const tokens = (n: number) => Array.from({ length: n }, () => rng.int(config.vocabSize));
const prompt = tokens(40);
const history = [prompt, ...tokens(6).map((t) => [t])];
const sameTurn = tokens(3);
const same = tokens(6);
const otherTurn = tokens(2);
const other = tokens(6);

/** The logits of a forward step as their bits, so that equal means bitwise equal. */
function step(cache: KVCache, ids: readonly number[]): Uint32Array {
  const out = model.forward([{ tokens: ids, cache }]);
  const bits = new Uint32Array(Float32Array.from(out.readSync() as Float32Array).buffer);
  out.dispose();
  return bits;
}

function selections(cache: KVCache): (number[][] | null)[] {
  if (!(cache instanceof PolicyKVCache)) return [];
  return Array.from({ length: shape.layers }, (_, l) => cache.lastSelection(l)?.map((list) => [...list]) ?? null);
}

/** `a` and `b` give the same next logits and selections for `ids`. */
function stepAlike(a: KVCache, b: KVCache, ids: readonly number[], what: string): void {
  assert.deepEqual(step(a, ids), step(b, ids), `${what}: logits differ`);
  assert.deepEqual(selections(a), selections(b), `${what}: selections differ`);
  assert.equal(a.length, b.length);
  if (a instanceof PolicyKVCache && b instanceof PolicyKVCache) {
    assert.deepEqual(a.report(), b.report(), `${what}: reports differ`);
    // Scores, bounds, selection caches and counters too, not only what reached the logits.
    assert.deepEqual(a.state, b.state, `${what}: policy states differ`);
  }
}

/**
 * The whole check on caches from `make`: prefill and a few decode steps, fork; the fork against
 * a cache that lived the same history (same tokens, then a later turn and decode steps); original
 * and fork fed different tokens, interleaved, each against a cache that never forked; then the
 * original disposed while the fork goes on. Returns the fork's selections along the way (to
 * check that the policy did select something).
 */
function checkFork(make: () => KVCache, name: string): (number[][] | null)[][] {
  const original = make();
  const twin = make();
  const third = make();
  for (const ids of history) for (const cache of [original, twin, third]) step(cache, ids);
  const fork = original.fork();
  assert.equal(fork.length, original.length);
  assert.equal(fork.shape.capacity, original.shape.capacity);
  assert.equal(fork.bytes(), original.bytes());
  assert.deepEqual(selections(fork), selections(original));
  if (fork instanceof PolicyKVCache && original instanceof PolicyKVCache) {
    assert.deepEqual(fork.report(), original.report());
    assert.deepEqual(fork.state, original.state);
  }
  const seen: (number[][] | null)[][] = [];
  // The copy decodes as the twin: a later turn (multi-token chunk), then single tokens.
  stepAlike(fork, twin, sameTurn, `${name}: fork after a turn`);
  for (const [i, t] of same.entries()) {
    stepAlike(fork, twin, [t], `${name}: fork decode step ${i}`);
    seen.push(selections(fork));
  }
  // Different tokens on the original (another turn, so lengths differ too) and on the fork.
  stepAlike(original, third, otherTurn, `${name}: original after the fork`);
  for (const [i, t] of other.entries()) {
    stepAlike(original, third, [t], `${name}: original step ${i} after the fork`);
    stepAlike(fork, twin, [same[i]], `${name}: fork step ${i} beside the original`);
  }
  original.dispose();
  stepAlike(fork, twin, otherTurn, `${name}: fork's turn after the original was disposed`);
  for (const [i, t] of other.entries()) stepAlike(fork, twin, [t], `${name}: fork step ${i} after the original was disposed`);
  for (const cache of [fork, twin, third]) cache.dispose();
  return seen;
}

describe('FullKVCache.fork', () => {
  it('copies the committed rows on the backend into buffers of its own', () => {
    const cache = model.createCache(capacity);
    step(cache, prompt);
    const fork = cache.fork() as FullKVCache;
    assert.ok(fork instanceof FullKVCache);
    for (let layer = 0; layer < shape.layers; layer++) {
      assert.notEqual(fork.keys(layer), cache.keys(layer));
      const rows = prompt.length * shape.kvHeads[layer] * headDim;
      assert.deepEqual((fork.keys(layer).readSync() as Float32Array).subarray(0, rows), (cache.keys(layer).readSync() as Float32Array).subarray(0, rows));
      assert.deepEqual((fork.values(layer).readSync() as Float32Array).subarray(0, rows), (cache.values(layer).readSync() as Float32Array).subarray(0, rows));
    }
    cache.dispose();
    fork.dispose();
  });

  // Capacity 96: 46 positions at the fork copy the used rows; at capacity 70 the whole buffers.
  for (const cap of [capacity, 70]) {
    it(`decodes as a cache with the same history, independently of the original (capacity ${cap})`, () => {
      checkFork(() => model.createCache(cap), `full cache of ${cap}`);
    });
  }
});

describe('PolicyKVCache.fork and KVPolicyState.clone', () => {
  it('has fork options for every registered policy', () => {
    assert.deepEqual(POLICY_NAMES.filter((name) => !(name in OPTIONS)), []);
  });

  for (const name of POLICY_NAMES) {
    it(`${name}: the fork decodes as a cache with the same history, independently of the original`, () => {
      const policy = createPolicy(name, OPTIONS[name] ?? {});
      const seen = checkFork(() => new PolicyKVCache(shape, policy, model.backend), name);
      // The fork's steps did select (or the budget would have tested nothing), except full's.
      if (name !== 'full') assert.ok(seen.some((layers) => layers.some((l) => l !== null)), `${name} never selected`);
    });
  }

  it('refuses to fork in the middle of a forward step', () => {
    const cache = new PolicyKVCache(shape, createPolicy('full'), model.backend);
    step(cache, prompt);
    const row = tensor(randomArray(kvHeads * headDim, 3), [1, kvHeads, headDim]);
    cache.append(0, row, row);
    assert.throws(() => cache.fork(), /layer 0 holds 1 appended rows not yet committed/);
    row.dispose();
    cache.dispose();
  });

  // The checks above must fail a clone that shares what the state changes.
  for (const name of ['h2o', 'quest', 'token-select']) {
    it(`fails a shallow clone of ${name}'s state`, () => {
      const policy = withShallowClone(createPolicy(name, OPTIONS[name]));
      assert.throws(() => checkFork(() => new PolicyKVCache(shape, policy, model.backend), name), /differ/);
    });
  }
});

/** `policy` whose states clone by sharing their arrays (fields copied one level deep only). */
function withShallowClone(policy: KVPolicy): KVPolicy {
  const createState = policy.createState.bind(policy);
  policy.createState = (s) => {
    const state = createState(s);
    // Not enumerable, so that states still compare by their data alone.
    const clone = (): KVPolicyState => Object.assign(Object.create(Object.getPrototypeOf(state) as object) as KVPolicyState, state);
    Object.defineProperty(state, 'clone', { value: clone, enumerable: false });
    return state;
  };
  return policy;
}
