/**
 * Sparse-prefill patterns (MInference) on crafted prompts, the per-head choice, and the decoder
 * with block-sparse prefill against dense prefill.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AShapePattern } from '../../src/attention/prefill/a-shape.js';
import { BlockTopKPattern } from '../../src/attention/prefill/block-top-k.js';
import { blockMask, type PrefillInput, type PrefillPattern } from '../../src/attention/prefill/blocks.js';
import { calibrateHeadPatterns, PrefillRecorder } from '../../src/attention/prefill/head-patterns.js';
import { sparsePrefill } from '../../src/attention/prefill/sparse-prefill.js';
import { VerticalSlashPattern } from '../../src/attention/prefill/vertical-slash.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { cpuBackend } from '../helpers/cpu.js';
import { randomArray } from './helpers.js';

before(async () => {
  await cpuBackend();
});

const D = 4;
const T = 32;
const b = 4;
const n = T / b;
const theta = (2 * Math.PI) / 80;

/** Rows [T, heads, D] from a function of (position, head) giving the head's vector. */
function rows(heads: number, at: (t: number, h: number) => number[]): Float32Array {
  const out = new Float32Array(T * heads * D);
  for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) out.set(at(t, h), (t * heads + h) * D);
  return out;
}

const noise = randomArray(T * 2 * D, 5, 0.05);
const small = (t: number, h: number) => Array.from(noise.subarray((t * 2 + h) * D, (t * 2 + h + 1) * D));
const column = 13;
const offset = 5;
// Head 0: every query points along channel 0 and only key 13 does too (a vertical line).
// Head 1: q_t . k_s = 2000 cos(theta (t - s - offset)): attention sits on the diagonal t - s = 5.
const planted: PrefillInput = {
  queries: rows(2, (t, h) => (h === 0 ? [1, 0, 0, 0] : [2000 * Math.cos(theta * t), 2000 * Math.sin(theta * t), 0, 0])),
  keys: rows(2, (s, h) => (h === 0 ? (s === column ? [30, 0, 0, 0] : small(s, h)) : [Math.cos(theta * (s + offset)), Math.sin(theta * (s + offset)), 0, 0])),
  tokens: T,
  heads: 2,
  kvHeads: 2,
  headDim: D,
  scale: 1,
};

function headMask(pattern: PrefillPattern, input: PrefillInput, head: number): number[][] {
  const out = new Uint8Array(n * n);
  pattern.fillHead(input, head, out);
  return Array.from({ length: n }, (_, i) => [...out.subarray(i * n, (i + 1) * n)]);
}

/** Blocks holding a visible (t, s) pair with s a kept column or t - s a kept offset: the lines, at block grain. */
function linesAsBlocks(columns: readonly number[], offsets: readonly number[]): number[][] {
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) if (columns.includes(s) || offsets.includes(t - s)) out[Math.floor(t / b)][Math.floor(s / b)] = 1;
  return out;
}

describe('sparse-prefill patterns', () => {
  it('A-shape keeps the sink blocks and the local blocks ending at the diagonal, for every head', () => {
    const pattern = new AShapePattern({ blockSize: 4, sinkBlocks: 1, localBlocks: 2 });
    const input = { ...planted, tokens: 20, queries: planted.queries.subarray(0, 20 * 2 * D), keys: planted.keys.subarray(0, 20 * 2 * D) };
    const mask = blockMask(input, 4, () => pattern);
    const expected = [
      [1, 0, 0, 0, 0],
      [1, 1, 0, 0, 0],
      [1, 1, 1, 0, 0],
      [1, 0, 1, 1, 0],
      [1, 0, 0, 1, 1],
    ].flat();
    assert.deepEqual([...mask], [...expected, ...expected]);
  });

  it('vertical-slash finds a planted column and a planted diagonal and covers them with blocks', () => {
    const pattern = new VerticalSlashPattern({ blockSize: b, lastQueries: 8, verticals: 2, slashes: 2, sinkColumns: 1, localDiagonals: 1 });
    const column0 = pattern.lines(planted, 0);
    assert.deepEqual([...column0.columns], [0, column]);
    const diagonal1 = pattern.lines(planted, 1);
    assert.deepEqual([...diagonal1.offsets], [0, offset]);
    for (const h of [0, 1]) {
      const { columns, offsets } = pattern.lines(planted, h);
      assert.deepEqual(headMask(pattern, planted, h), linesAsBlocks([...columns], [...offsets]), `head ${h}`);
    }
    // Spot checks: column 13 (block 3) for every query block from 3 on; offset 5 from block 2 reaches blocks 0 and 1.
    const m0 = headMask(pattern, planted, 0);
    assert.deepEqual(m0.map((r) => r[3]), [0, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual(headMask(pattern, planted, 1)[2].slice(0, 3), [1, 1, 1]);
  });

  it('block top-k keeps the planted key block and the diagonal', () => {
    // Queries of block 6 and keys of block 2 point along channel 0; everything else is small noise.
    const input: PrefillInput = {
      ...planted,
      heads: 1,
      kvHeads: 1,
      queries: rows(1, (t) => (Math.floor(t / b) === 6 ? [1, 0, 0, 0] : small(t, 0))),
      keys: rows(1, (s) => (Math.floor(s / b) === 2 ? [5, 0, 0, 0] : small(s, 1))),
    };
    const mask = headMask(new BlockTopKPattern({ blockSize: b, topK: 2 }), input, 0);
    assert.deepEqual(mask[6], [0, 0, 1, 0, 0, 0, 1, 0]);
    mask.forEach((row, i) => {
      assert.equal(row[i], 1, `query block ${i} keeps its diagonal`);
      assert.equal(row.reduce((a, c) => a + c, 0), Math.min(i + 1, 2));
      assert.ok(row.slice(i + 1).every((c) => c === 0), 'nothing above the diagonal');
    });
  });

  it('chooses per head the cheapest pattern that recovers the attention: A-shape for a local head, vertical-slash for a column head', () => {
    // Head 0 attends to itself (the diagonal), head 1 to column 13.
    const input: PrefillInput = {
      ...planted,
      queries: rows(2, (t, h) => (h === 0 ? [2000 * Math.cos(theta * t), 2000 * Math.sin(theta * t), 0, 0] : [1, 0, 0, 0])),
      keys: rows(2, (s, h) => (h === 0 ? [Math.cos(theta * s), Math.sin(theta * s), 0, 0] : s === column ? [30, 0, 0, 0] : small(s, h))),
    };
    const aShape = new AShapePattern({ blockSize: b, sinkBlocks: 1, localBlocks: 1 });
    const verticalSlash = new VerticalSlashPattern({ blockSize: b, lastQueries: 8, verticals: 2, slashes: 1, sinkColumns: 1, localDiagonals: 1 });
    const heads = calibrateHeadPatterns([input], [aShape, verticalSlash]);
    assert.deepEqual(heads.choice, [[0, 1]]);
    assert.ok(heads.scores[0][0][0].recall > 0.99, `A-shape recall on the local head: ${heads.scores[0][0][0].recall}`);
    assert.ok(heads.scores[0][1][0].recall < 0.7, `A-shape misses the column: recall ${heads.scores[0][1][0].recall}`);
    // Rows before the column cannot see it and spread over noise, hence below 1.
    assert.ok(heads.scores[0][1][1].recall > 0.9, `vertical-slash catches it: recall ${heads.scores[0][1][1].recall}`);
    assert.equal(heads.describe(), 'a-shape 1, vertical-slash 1');
  });
});

describe('block-sparse prefill in the decoder', () => {
  const config = tinyDecoderConfig();
  let model: DecoderModel;
  let dense: { prompt: Float32Array; next: Float32Array };
  before(async () => {
    await cpuBackend();
    model = new DecoderModel(config, randomDecoderWeights(config, 11));
    dense = run({});
  });
  const prompt = [3, 17, 5, 42, 8, 8, 1, 30, 29, 11, 4, 9, 23];

  function run(prefill: Parameters<DecoderModel['forward']>[1]): { prompt: Float32Array; next: Float32Array } {
    const cache = model.createCache(prompt.length + 1);
    const a = model.forward([{ tokens: prompt, cache }], { allLogits: true, ...prefill });
    const b2 = model.forward([{ tokens: [7], cache }], prefill);
    const out = { prompt: a.readSync() as Float32Array, next: b2.readSync() as Float32Array };
    a.dispose();
    b2.dispose();
    cache.dispose();
    return out;
  }

  const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);

  for (const [name, options] of [
    ['a-shape', { pattern: 'a-shape', blockSize: 4, localBlocks: 4 }],
    ['vertical-slash', { pattern: 'vertical-slash', blockSize: 2, verticals: 13, slashes: 13 }],
    ['block-top-k', { pattern: 'block-top-k', blockSize: 3, topK: 5 }],
  ] as const) {
    it(`${name} keeping every block gives the dense prefill's logits, and decoding after it too`, () => {
      const prefill = sparsePrefill(options);
      const sparse = run({ prefill });
      assert.equal(sparse.prompt.length, dense.prompt.length);
      assert.ok(maxDiff(sparse.prompt, dense.prompt) < 1e-5, `prompt logits differ by ${maxDiff(sparse.prompt, dense.prompt)}`);
      assert.ok(maxDiff(sparse.next, dense.next) < 1e-5, `next-step logits differ by ${maxDiff(sparse.next, dense.next)}`);
      assert.deepEqual(prefill.keptShare, [1, 1]);
    });
  }

  it('a sparse mask changes the logits (the blocks are really skipped) and reports its share', () => {
    const prefill = sparsePrefill({ pattern: 'a-shape', blockSize: 2, sinkBlocks: 0, localBlocks: 1 });
    const sparse = run({ prefill });
    assert.ok(maxDiff(sparse.prompt, dense.prompt) > 1e-3);
    // 7 blocks of 2 (the last short): 7 diagonal blocks of 28 causal ones.
    assert.deepEqual(prefill.keptShare, [0.25, 0.25]);
  });

  it('refuses a prompt longer than the sliding window before touching the cache', () => {
    const windowed = tinyDecoderConfig({ slidingWindow: 4 });
    const m = new DecoderModel(windowed, randomDecoderWeights(windowed, 12));
    const cache = m.createCache(prompt.length);
    assert.throws(() => m.forward([{ tokens: prompt, cache }], { prefill: sparsePrefill({ pattern: 'a-shape', blockSize: 4 }) }), /sliding window of 4 tokens; the prompt has 13/);
    assert.equal(cache.length, 0);
    cache.dispose();
  });

  it('records calibration inputs with a dense pass, and a per-head choice runs as `prefill`', () => {
    const recorder = new PrefillRecorder(4);
    const recorded = run({ prefill: recorder });
    assert.ok(maxDiff(recorded.prompt, dense.prompt) < 1e-5);
    assert.equal(recorder.inputs.length, config.numLayers);
    assert.equal(recorder.inputs[0].tokens, prompt.length);
    const heads = calibrateHeadPatterns(recorder.inputs, [new AShapePattern({ blockSize: 4, localBlocks: 1 }), new BlockTopKPattern({ blockSize: 4, topK: 4 })], { targetRecall: 1 });
    assert.equal(heads.choice.length, 2);
    assert.ok(heads.choice.every((row) => row.length === config.numHeads));
    const prefill = sparsePrefill({ pattern: heads });
    assert.ok(maxDiff(run({ prefill }).prompt, dense.prompt) < 1e-5, 'with targetRecall 1 every head takes top-4 (all blocks) unless A-shape loses nothing');
    assert.throws(() => sparsePrefill({ pattern: 'diagonal' }), /unknown sparse-prefill pattern 'diagonal'; known: a-shape, vertical-slash, block-top-k/);
  });
});
