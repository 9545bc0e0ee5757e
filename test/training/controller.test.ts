/** Sparse-training methods under the controller: exact sparsity, frozen pruned weights, what each method drops and grows. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { randomNormal, tensor } from '../../src/core/ops.js';
import { AdamW, Sgd } from '../../src/nn/optim/index.js';
import { cosineDropFraction, cubicSparsity, GradualMagnitudePruning, layerDensities, Rigl, SetMethod, type SparseLayer, SparsityController, StaticSparse } from '../../src/training/index.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

function layer(name: string, rows: number, cols: number, seed: number): SparseLayer {
  return { name, param: ag.parameter(randomNormal([rows, cols], seed), name), rows, cols };
}

const host = (t: { readSync(): unknown }) => t.readSync() as Float32Array;
const ones = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);

/** One step of loss = sum over layers of sum((x W^T)^2) for fixed x, gradients left in .grad. */
function lossStep(layers: SparseLayer[]): void {
  let loss: ag.Variable | null = null;
  for (const l of layers) {
    const x = ag.constant(randomNormal([4, l.cols], 77));
    const term = ag.sumAll(ag.square(ag.linear(x, l.param)));
    loss = loss ? ag.add(loss, term) : term;
  }
  ag.backward(loss!);
}

describe('sparse training schedules and densities', () => {
  it('cubic sparsity runs from s_i to s_f, fastest at first; RigL drop fraction anneals by cosine', () => {
    assert.equal(cubicSparsity(0, 0, 0.9, 10, 5, 2), 0);
    assert.equal(cubicSparsity(10, 0, 0.9, 10, 5, 2), 0);
    assert.ok(Math.abs(cubicSparsity(15, 0, 0.9, 10, 5, 2) - 0.9 * (1 - 0.5 ** 3)) < 1e-12);
    assert.equal(cubicSparsity(20, 0, 0.9, 10, 5, 2), 0.9);
    assert.equal(cubicSparsity(99, 0, 0.9, 10, 5, 2), 0.9);
    assert.ok(Math.abs(cosineDropFraction(0, 0.3, 100) - 0.3) < 1e-12);
    assert.ok(Math.abs(cosineDropFraction(50, 0.3, 100) - 0.15) < 1e-12);
    assert.equal(cosineDropFraction(100, 0.3, 100), 0);
  });

  it('ER densities make small layers denser and keep the global budget', () => {
    const layers = [layer('small', 10, 8, 1), layer('big', 64, 128, 2)];
    const d = layerDensities(layers, 0.9, 'erk');
    assert.ok(d.get('small')! > d.get('big')!);
    const kept = 80 * d.get('small')! + 64 * 128 * d.get('big')!;
    assert.ok(Math.abs(kept / (80 + 64 * 128) - 0.1) < 1e-9);
    assert.deepEqual([...layerDensities(layers, 0.9, 'uniform').values()], [0.1, 0.1].map((v) => 1 - (1 - v)));
  });
});

describe('sparsity controller', () => {
  it('static: exact per-layer sparsity; pruned weights stay zero through AdamW with weight decay, and their moments stay zero', async () => {
    const layers = [layer('a', 16, 24, 3), layer('b', 8, 16, 4)];
    const opt = new AdamW(layers.map((l) => l.param), { learningRate: 0.05, weightDecay: 0.1 });
    const c = new SparsityController(layers, new StaticSparse({ sparsity: 0.75, seed: 1 }), opt);
    c.start();
    for (const l of layers) assert.equal(ones(c.maskOf(l.name)), 0.25 * l.rows * l.cols);
    for (let step = 1; step <= 5; step++) {
      lossStep(layers);
      await c.beforeStep(step);
      opt.step();
      await c.afterStep(step);
      ag.zeroGrad(layers.map((l) => l.param));
    }
    const w = host(layers[0].param.value);
    const mask = c.maskOf('a');
    assert.ok(w.every((v, i) => (mask[i] ? true : v === 0)), 'pruned weights are exactly zero');
    assert.ok(w.some((v, i) => mask[i] && v !== 0));
    for (const l of layers) {
      const m = host(opt.state().get(`${l.name}.exp_avg`)!);
      assert.ok(m.every((v, i) => (c.maskOf(l.name)[i] ? true : v === 0)), `${l.name}: no moment builds up on pruned weights`);
    }
    assert.equal(c.sparsity(), 0.75);
  });

  it('SET keeps the sparsity, drops the smallest magnitudes and grows inactive positions at zero', async () => {
    const l = layer('w', 10, 20, 5);
    const opt = new Sgd([l.param], { learningRate: 0.01, momentum: 0.9 });
    const c = new SparsityController([l], new SetMethod({ sparsity: 0.8, seed: 2, interval: 2, endStep: 100, dropFraction: 0.3 }), opt);
    c.start();
    lossStep([l]);
    await c.beforeStep(1);
    opt.step();
    assert.equal(await c.afterStep(1), null, 'no update at step 1');
    const maskBefore = c.maskOf('w').slice();
    const w = host(l.param.value).slice();
    lossStep([l]);
    await c.beforeStep(2);
    opt.step();
    const weightsAtUpdate = host(l.param.value).map((v, i) => (maskBefore[i] ? v : 0));
    const changes = await c.afterStep(2);
    assert.ok(changes && changes.has('w'));
    const after = c.maskOf('w');
    assert.equal(ones(after), ones(maskBefore), 'sparsity unchanged');
    const k = Math.round(cosineDropFraction(2, 0.3, 100) * 40);
    const dropped = [...maskBefore.keys()].filter((i) => maskBefore[i] && !after[i]);
    const grown = changes.get('w')!.grown!;
    assert.equal(grown.reduce((s, v) => s + v, 0), k);
    // Every dropped weight is no larger than every surviving one (up to those regrown at the same place).
    const survivors = [...maskBefore.keys()].filter((i) => maskBefore[i] && after[i] && !grown[i]);
    const maxDropped = Math.max(...dropped.map((i) => Math.abs(weightsAtUpdate[i])));
    assert.ok(survivors.every((i) => Math.abs(weightsAtUpdate[i]) >= maxDropped));
    const now = host(l.param.value);
    assert.ok([...grown.keys()].filter((i) => grown[i]).every((i) => now[i] === 0), 'grown weights start at zero');
    assert.ok(w.length === now.length);
  });

  it('RigL grows where the dense gradient is largest among inactive positions', async () => {
    const l = layer('w', 6, 8, 6);
    const c = new SparsityController([l], new Rigl({ sparsity: 0.5, seed: 3, interval: 1, endStep: 10, dropFraction: 0.25 }));
    c.start();
    const before = c.maskOf('w').slice();
    // A gradient that is largest exactly at chosen inactive positions.
    const inactive = [...before.keys()].filter((i) => !before[i]);
    const favourite = inactive.slice(0, 3);
    const grad = new Float32Array(48).map((_, i) => (favourite.includes(i) ? 10 + i : 0.01 * (i % 5)));
    l.param.grad = tensor(grad, [6, 8]);
    await c.beforeStep(1);
    const changes = await c.afterStep(1);
    const grownIdx = [...changes!.get('w')!.grown!.keys()].filter((i) => changes!.get('w')!.grown![i]);
    const k = Math.round(cosineDropFraction(1, 0.25, 10) * 24);
    assert.equal(grownIdx.length, k);
    for (const i of favourite.slice(0, Math.min(3, k))) assert.ok(grownIdx.includes(i), `position ${i} (gradient ${grad[i]}) was grown`);
    assert.equal(ones(c.maskOf('w')), 24);
  });

  it('GMP starts dense and prunes to the cubic schedule by magnitude, never regrowing', async () => {
    const l = layer('w', 20, 20, 7);
    const gmp = new GradualMagnitudePruning({ sparsity: 0.9, startStep: 2, endStep: 10, interval: 2 });
    const c = new SparsityController([l], gmp);
    c.start();
    assert.equal(c.sparsity(), 0);
    let previous = c.maskOf('w').slice();
    for (let step = 1; step <= 12; step++) {
      await c.afterStep(step);
      const mask = c.maskOf('w');
      assert.ok(mask.every((v, i) => v <= previous[i]), `step ${step}: no weight comes back`);
      if (gmp.updatesAt(step)) assert.equal(c.sparsity(), Math.round(gmp.sparsityAt(step) * 400) / 400, `step ${step}`);
      previous = mask.slice();
    }
    assert.equal(c.sparsity(), 0.9);
  });

  it('rejects masks and layers that do not fit', () => {
    const l = layer('w', 4, 4, 8);
    assert.throws(() => new SparsityController([l, l], new StaticSparse({ sparsity: 0.5 })), /appears twice/);
    assert.throws(() => new SparsityController([{ ...l, rows: 5 }], new StaticSparse({ sparsity: 0.5 })), /has 16 weights, not 5 x 4/);
    assert.throws(() => new StaticSparse({ sparsity: 1 }).initialMasks([l]), /sparsity must be in \[0, 1\)/);
    assert.throws(() => new SetMethod({ sparsity: 0.5, interval: 0, endStep: 10 }), /interval must be a positive integer/);
  });
});
