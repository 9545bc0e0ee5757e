/**
 * CFSP structured pruning. The identities: a pruned MLP computes exactly what the full MLP
 * computes with the dropped channels' gate/up rows zeroed; pruned attention computes exactly what
 * the full attention computes with the dropped heads' o columns zeroed. Checked with a host
 * reference (bit-exact: the zero terms add nothing) and through the model's own forward pass
 * (to f32 kernel tolerance). Then the scores, keep counts, coarse stage and shapes.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { createDecoderWeights, type DecoderLayerWeights, type Projection } from '../../src/models/decoder-weights.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import {
  angularDistanceSum,
  cfspBlockSparsities,
  cfspKeepCounts,
  cfspPruneBlock,
  type DenseAttention,
  type DenseMlp,
  type DenseProjection,
  kvGroupScores,
  mlpChannelScores,
  sliceAttention,
  sliceMlp,
  topIndices,
} from '../../src/pruning/structured/cfsp.js';
import type { LinearInputStats } from '../../src/pruning/types.js';
import { assertClose } from '../helpers/numeric.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

function randomProjection(rng: Random, rows: number, cols: number, bias: boolean): DenseProjection {
  return {
    rows,
    cols,
    weight: Float32Array.from({ length: rows * cols }, () => rng.normal() / Math.sqrt(cols)),
    bias: bias ? Float32Array.from({ length: rows }, () => rng.normal() * 0.1) : null,
  };
}

function randomStats(rng: Random, cols: number): LinearInputStats {
  return { tokens: 32, sumSquares: Float64Array.from({ length: cols }, () => 32 * Math.exp(rng.normal())), sum: new Float64Array(cols), gram: null };
}

/** y = x W^T + b over rows of x [T, cols], in f64. */
function project(x: Float64Array, p: DenseProjection): Float64Array {
  const T = x.length / p.cols;
  const y = new Float64Array(T * p.rows);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < p.rows; r++) {
      let s = 0;
      for (let j = 0; j < p.cols; j++) s += x[t * p.cols + j] * p.weight[r * p.cols + j];
      y[t * p.rows + r] = s + (p.bias ? p.bias[r] : 0);
    }
  }
  return y;
}

function mlpForward(x: Float64Array, m: DenseMlp): Float64Array {
  const g = project(x, m.gate);
  const u = project(x, m.up);
  const act = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
  return project(act, m.down);
}

/** Causal grouped-query attention without rotary positions: query head h reads KV head floor(h / (H / KV)). */
function attentionForward(x: Float64Array, a: DenseAttention, heads: number, kvHeads: number, D: number): Float64Array {
  const q = project(x, a.q);
  const k = project(x, a.k);
  const v = project(x, a.v);
  const T = x.length / a.q.cols;
  const out = new Float64Array(T * heads * D);
  for (let h = 0; h < heads; h++) {
    const kh = Math.floor(h / (heads / kvHeads));
    for (let t = 0; t < T; t++) {
      const scores: number[] = [];
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(t * heads + h) * D + d] * k[(s * kvHeads + kh) * D + d];
        scores.push(dot / Math.sqrt(D));
      }
      const max = Math.max(...scores);
      const e = scores.map((z) => Math.exp(z - max));
      const z = e.reduce((p, c) => p + c, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let s = 0; s <= t; s++) acc += (e[s] / z) * v[(s * kvHeads + kh) * D + d];
        out[(t * heads + h) * D + d] = acc;
      }
    }
  }
  return project(out, a.o);
}

function withRowsZeroed(p: DenseProjection, keep: (row: number) => boolean): DenseProjection {
  const weight = p.weight.slice();
  const bias = p.bias ? p.bias.slice() : null;
  for (let r = 0; r < p.rows; r++) {
    if (keep(r)) continue;
    weight.fill(0, r * p.cols, (r + 1) * p.cols);
    if (bias) bias[r] = 0;
  }
  return { ...p, weight, bias };
}

function withColsZeroed(p: DenseProjection, keep: (col: number) => boolean): DenseProjection {
  const weight = p.weight.slice();
  for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) if (!keep(c)) weight[r * p.cols + c] = 0;
  return { ...p, weight };
}

const H = 16;
const F = 40;

function randomMlp(seed: number, bias = true): DenseMlp {
  const rng = new Random(seed);
  return { gate: randomProjection(rng, F, H, bias), up: randomProjection(rng, F, H, bias), down: randomProjection(rng, H, F, bias) };
}

describe('CFSP MLP channels', () => {
  it('the pruned MLP equals the full MLP with the dropped channels\' gate/up rows zeroed, exactly', () => {
    const rng = new Random(5);
    const mlp = randomMlp(1);
    const stats = { gateUp: randomStats(rng, H), down: randomStats(rng, F) };
    const kept = topIndices(mlpChannelScores(mlp, stats), 24);
    assert.equal(kept.length, 24);
    const pruned = sliceMlp(mlp, kept);
    assert.deepEqual([pruned.gate.rows, pruned.gate.cols, pruned.up.rows, pruned.down.rows, pruned.down.cols], [24, H, 24, H, 24]);
    assert.equal(pruned.gate.bias!.length, 24);
    assert.equal(pruned.down.bias!.length, H);
    const set = new Set(kept);
    const zeroed: DenseMlp = { gate: withRowsZeroed(mlp.gate, (r) => set.has(r)), up: withRowsZeroed(mlp.up, (r) => set.has(r)), down: mlp.down };
    const x = Float64Array.from({ length: 5 * H }, () => rng.normal());
    assert.deepEqual(mlpForward(x, pruned), mlpForward(x, zeroed));
    // And pruning changed something (the identity is not vacuous).
    assert.notDeepEqual(mlpForward(x, pruned), mlpForward(x, mlp));
  });

  it('scores drop a channel with small weights and small activation, keep one with large', () => {
    const rng = new Random(2);
    const mlp = randomMlp(3, false);
    for (let j = 0; j < H; j++) {
      mlp.gate.weight[7 * H + j] *= 1e-3;
      mlp.up.weight[7 * H + j] *= 1e-3;
      mlp.gate.weight[9 * H + j] *= 10;
    }
    for (let r = 0; r < H; r++) mlp.down.weight[r * F + 7] *= 1e-3;
    const stats = { gateUp: randomStats(rng, H), down: randomStats(rng, F) };
    const scores = mlpChannelScores(mlp, stats);
    const order = [...scores.keys()].sort((i, j) => scores[i] - scores[j]);
    assert.equal(order[0], 7);
    assert.equal(order[F - 1], 9);
    // Each of the three terms is normalized to total 1: the scores sum to 3.
    assert.ok(Math.abs(scores.reduce((a, b) => a + b, 0) - 3) < 1e-12);
  });
});

describe('CFSP attention KV groups', () => {
  const heads = 6;
  const kvHeads = 3;
  const D = 4;
  function randomAttention(seed: number): DenseAttention {
    const rng = new Random(seed);
    return {
      q: randomProjection(rng, heads * D, H, true),
      k: randomProjection(rng, kvHeads * D, H, true),
      v: randomProjection(rng, kvHeads * D, H, true),
      o: randomProjection(rng, H, heads * D, true),
    };
  }

  it('removing whole KV groups equals zeroing their query heads\' o columns, exactly', () => {
    const rng = new Random(8);
    const attn = randomAttention(4);
    const shape = { numHeads: heads, numKvHeads: kvHeads, headDim: D };
    const stats = { qkv: randomStats(rng, H), o: randomStats(rng, heads * D) };
    const keptKv = topIndices(kvGroupScores(attn, shape, stats), 2);
    const pruned = sliceAttention(attn, shape, keptKv);
    assert.deepEqual(pruned.shape, { numHeads: 4, numKvHeads: 2, headDim: D });
    assert.deepEqual([...pruned.keptHeads], [...keptKv].flatMap((g) => [2 * g, 2 * g + 1]));
    const a = pruned.attention;
    assert.deepEqual([a.q.rows, a.k.rows, a.v.rows, a.o.rows, a.o.cols], [4 * D, 2 * D, 2 * D, H, 4 * D]);
    const keptCols = new Set([...pruned.keptHeads].flatMap((h) => Array.from({ length: D }, (_, d) => h * D + d)));
    const zeroed = { ...attn, o: withColsZeroed(attn.o, (c) => keptCols.has(c)) };
    const x = Float64Array.from({ length: 6 * H }, () => rng.normal());
    assert.deepEqual(attentionForward(x, a, 4, 2, D), attentionForward(x, zeroed, heads, kvHeads, D));
  });

  it('drops the group whose weights are zero and maps query heads to their KV head', () => {
    const rng = new Random(9);
    const attn = randomAttention(6);
    // KV group 1 = KV head 1 with query heads 2 and 3.
    attn.k.weight.fill(0, 1 * D * H, 2 * D * H);
    attn.v.weight.fill(0, 1 * D * H, 2 * D * H);
    attn.q.weight.fill(0, 2 * D * H, 4 * D * H);
    for (let r = 0; r < H; r++) attn.o.weight.fill(0, r * heads * D + 2 * D, r * heads * D + 4 * D);
    const shape = { numHeads: heads, numKvHeads: kvHeads, headDim: D };
    const scores = kvGroupScores(attn, shape, { qkv: randomStats(rng, H), o: randomStats(rng, heads * D) });
    assert.equal(scores[1], 0);
    const kept = topIndices(scores, 2);
    assert.deepEqual([...kept], [0, 2]);
    assert.deepEqual([...sliceAttention(attn, shape, kept).keptHeads], [0, 1, 4, 5]);
  });

  it('rejects heads that do not group evenly and statistics of the wrong width', () => {
    const attn = randomAttention(1);
    const rng = new Random(1);
    assert.throws(() => kvGroupScores(attn, { numHeads: heads, numKvHeads: 4, headDim: D }, { qkv: randomStats(rng, H), o: randomStats(rng, heads * D) }), ArgumentError);
    assert.throws(() => kvGroupScores(attn, { numHeads: heads, numKvHeads: kvHeads, headDim: D }, { qkv: randomStats(rng, H + 1), o: randomStats(rng, heads * D) }), /statistics/);
  });
});

describe('CFSP through the model forward pass', () => {
  it('a model built from the pruned block (smaller config) gives the logits of the full model with the dropped rows/columns zeroed', () => {
    const config = tinyDecoderConfig({ numLayers: 1, attentionBias: true, mlpBias: true });
    const dense = randomDecoderWeights(config, 21);
    const host = (t: Tensor) => (t.readSync() as Float32Array).slice();
    const proj = (p: Projection, rows: number, cols: number): DenseProjection => ({ rows, cols, weight: host(p.weight as Tensor), bias: p.bias ? host(p.bias) : null });
    const { hiddenSize: h, numHeads, numKvHeads, headDim: D, intermediateSize: f } = config;
    const l = dense.layers[0];
    const block = {
      attention: { q: proj(l.q, numHeads * D, h), k: proj(l.k, numKvHeads * D, h), v: proj(l.v, numKvHeads * D, h), o: proj(l.o, h, numHeads * D) },
      mlp: { gate: proj(l.gate, f, h), up: proj(l.up, f, h), down: proj(l.down, h, f) },
    };
    const rng = new Random(3);
    const stats = { qkv: randomStats(rng, h), o: randomStats(rng, numHeads * D), gateUp: randomStats(rng, h), down: randomStats(rng, f) };
    const pruned = cfspPruneBlock(block, { numHeads, numKvHeads, headDim: D }, stats, { mlpChannels: 24, kvGroups: 1 });
    assert.deepEqual(pruned.shape, { numHeads: 2, numKvHeads: 1, headDim: D, intermediateSize: 24 });

    const toProjection = (p: DenseProjection): Projection => ({ weight: tensor(p.weight, [p.rows, p.cols]), bias: p.bias ? tensor(p.bias, [p.rows]) : null });
    const norms = { inputNorm: l.inputNorm, postAttentionNorm: l.postAttentionNorm };
    const b = pruned.block;
    const smallLayer: DecoderLayerWeights = { ...norms, q: toProjection(b.attention.q), k: toProjection(b.attention.k), v: toProjection(b.attention.v), o: toProjection(b.attention.o), gate: toProjection(b.mlp.gate), up: toProjection(b.mlp.up), down: toProjection(b.mlp.down) };
    const channels = new Set(pruned.keptChannels);
    const oCols = new Set([...pruned.keptHeads].flatMap((hd) => Array.from({ length: D }, (_, d) => hd * D + d)));
    const a = block.attention;
    const m = block.mlp;
    const zeroedLayer: DecoderLayerWeights = {
      ...norms,
      q: toProjection(a.q), k: toProjection(a.k), v: toProjection(a.v),
      o: toProjection(withColsZeroed(a.o, (c) => oCols.has(c))),
      gate: toProjection(withRowsZeroed(m.gate, (r) => channels.has(r))),
      up: toProjection(withRowsZeroed(m.up, (r) => channels.has(r))),
      down: toProjection(m.down),
    };
    const shared = { embedTokens: dense.embedTokens, finalNorm: dense.finalNorm, lmHead: dense.lmHead };
    const small = new DecoderModel({ ...config, numHeads: 2, numKvHeads: 1, intermediateSize: 24 }, createDecoderWeights({ ...shared, layers: [smallLayer] }));
    const zeroed = new DecoderModel(config, createDecoderWeights({ ...shared, layers: [zeroedLayer] }));
    const ids = [3, 17, 5, 42, 8, 1, 30];
    const logits = (model: DecoderModel) => {
      const cache = model.createCache(ids.length);
      const out = model.forward([{ tokens: ids, cache }], { allLogits: true });
      const data = out.readSync() as Float32Array;
      out.dispose();
      cache.dispose();
      return data;
    };
    assertClose(logits(small), logits(zeroed), 1e-5, 'pruned vs zeroed logits');
    for (const t of [...small.weights.tensors(), ...zeroed.weights.tensors(), ...dense.tensors()]) if (!t.disposed) t.dispose();
  });
});

describe('CFSP coarse stage and keep counts', () => {
  it('angular distance: 0 for the same direction, 1/2 orthogonal, 1 opposite, 1/3 for a zero vector', () => {
    const d = (x: number[], y: number[]) => angularDistanceSum(Float32Array.from(x), Float32Array.from(y), 2);
    assert.ok(Math.abs(d([1, 2], [2, 4])) < 1e-7);
    assert.ok(Math.abs(d([1, 0], [0, 1]) - 0.5) < 1e-12);
    assert.ok(Math.abs(d([3, 3], [-3, -3]) - 1) < 1e-7);
    assert.ok(Math.abs(d([0, 0, 1, 0], [5, 1, 0, 1]) - (1 / 3 + 1 / 2)) < 1e-12);
    assert.throws(() => d([1, 2, 3], [1, 2]), ArgumentError);
  });

  it('block sparsities average to the target; blocks that change their input more keep more', () => {
    const d = [0.1, 0.3, 0.2, 0.25, 0.15];
    const s = cfspBlockSparsities(d, 0.4);
    assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) / 5 - 0.4) < 1e-12);
    const order = [...s.keys()].sort((i, j) => s[i] - s[j]);
    assert.deepEqual(order, [1, 3, 2, 4, 0]);
    // Upstream's formula by hand for block 1: sigmoid((0.3 - 0.2) * 131072 / 1e4) / mean * 0.6.
    const sig = d.map((x) => 1 / (1 + Math.exp(-(x - 0.2) * 13.1072)));
    const mean = sig.reduce((a, b) => a + b, 0) / 5;
    assert.ok(Math.abs(s[1] - (1 - (sig[1] / mean) * 0.6)) < 1e-12);
    assert.deepEqual(cfspBlockSparsities([0.2, 0.2, 0.2], 0.3).map((v) => +v.toFixed(12)), [0.3, 0.3, 0.3]);
  });

  it('shrinks deviations so no block keeps more than all of it, keeping the mean', () => {
    const s = cfspBlockSparsities([0, 0, 0, 1], 0.1, { a: 5 });
    assert.ok(s.every((v) => v >= 0 && v < 1), `${s}`);
    assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) / 4 - 0.1) < 1e-12);
    // The largest keeps (1 - p) + p / 1.05 of its block.
    assert.ok(Math.abs(1 - s[3] - (0.9 + 0.1 / 1.05)) < 1e-12);
  });

  it('keep counts are multiples of 8, at least 8, with the total kept as close as whole multiples allow', () => {
    const counts = cfspKeepCounts([0.3, 0.5, 0.41, 0.2], 100);
    counts.forEach((c) => assert.ok(c % 8 === 0 && c >= 8 && c <= 96, `${c}`));
    const want = (0.7 + 0.5 + 0.59 + 0.8) * 100;
    assert.ok(Math.abs(counts.reduce((a, b) => a + b, 0) - want) <= 4, `${counts} vs ${want}`);
    assert.deepEqual(cfspKeepCounts([0, 0.5], 100), [100, 48]);
    assert.deepEqual(cfspKeepCounts([0.99], 100), [8]);
    // KV groups: multiples of 1, at least one.
    assert.deepEqual(cfspKeepCounts([0.5, 0.9, 0.2], 4, 1), [2, 1, 3]);
    // Narrower than the multiple: whole units.
    assert.deepEqual(cfspKeepCounts([0.5], 6), [3]);
    assert.throws(() => cfspKeepCounts([1], 8), ArgumentError);
  });
});
