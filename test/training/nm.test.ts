/** N:M training from scratch: the straight-through controller's invariants and gradient rule, SR-STE, the MDGF / SDGF schedules, the N:M format at the end, a short run. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { randomNormal, tensor } from '../../src/core/ops.js';
import { teacherStudentTask } from '../../src/data/synthetic-teacher.js';
import { Mlp } from '../../src/nn/mlp.js';
import { AdamW, Sgd } from '../../src/nn/optim/index.js';
import { linear, NmMatrix } from '../../src/sparse/index.js';
import { trainClassifier } from '../../src/training/classifier.js';
import type { SparseLayer } from '../../src/training/types.js';
import {
  ExponentialMaskDecay,
  GeometricStructureDecay,
  LinearMaskDecay,
  type MaskDecaySchedule,
  type NmShape,
  NmStraightThroughController,
  nmSparseTraining,
  nmTrainingCases,
  StepwiseStructureDecay,
} from '../../src/training/nm/index.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const host = (t: { readSync(): unknown }) => t.readSync() as Float32Array;
/** Values with -0 (a pruned negative weight times 0) read as 0. */
const plain = (xs: ArrayLike<number>) => Array.from(xs, (v) => v + 0);

function layer(name: string, rows: number, cols: number, seed: number): SparseLayer {
  return { name, param: ag.parameter(randomNormal([rows, cols], seed), name), rows, cols };
}

/** loss = sum over layers of sum((x W^T)^2) for a fixed x; gradients left in .grad. */
function lossStep(layers: SparseLayer[], seed: number): void {
  let loss: ag.Variable | null = null;
  for (const l of layers) {
    const x = ag.constant(randomNormal([4, l.cols], seed));
    const term = ag.sumAll(ag.square(ag.linear(x, l.param)));
    loss = loss ? ag.add(loss, term) : term;
  }
  ag.backward(loss!);
}

/** The n largest |w| of every m consecutive weights, by a sort (independent of the controller's selection). */
function topByMagnitude(w: Float32Array, { n, m }: NmShape): Uint8Array {
  const out = new Uint8Array(w.length);
  for (let g = 0; g < w.length; g += m) {
    const order = Array.from({ length: m }, (_, i) => g + i).sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]));
    for (const i of order.slice(0, n)) out[i] = 1;
  }
  return out;
}

function nonzerosPerGroup(w: Float32Array, m: number): number[] {
  const counts: number[] = [];
  for (let g = 0; g < w.length; g += m) counts.push(w.subarray(g, g + m).reduce((s, v) => s + (v !== 0 ? 1 : 0), 0));
  return counts;
}

const constantDecay = (alpha: number): MaskDecaySchedule => ({ name: 'constant', at: () => alpha });

describe('N:M straight-through controller', () => {
  for (const target of [{ n: 2, m: 4 }, { n: 1, m: 4 }, { n: 2, m: 8 }]) {
    it(`keeps exactly ${target.n}:${target.m} in the forward weights, the mask the top-${target.n} of the dense |W| (SR-STE, AdamW)`, async () => {
      const layers = [layer('a', 8, 16, 1), layer('b', 6, 32, 2)];
      const optimizer = new AdamW(layers.map((l) => l.param), { learningRate: 0.05, weightDecay: 0 });
      const steps = 12;
      const c = nmSparseTraining(layers, target, steps, { method: 'sr-ste' });
      c.start();
      let flips = 0;
      for (let step = 1; step <= steps; step++) {
        lossStep(layers, 10 + step);
        await c.beforeStep(step);
        optimizer.step();
        flips += await c.afterStep(step);
        ag.zeroGrad(layers.map((l) => l.param));
        for (const l of layers) {
          const w = host(l.param.value);
          const dense = host(c.denseOf(l.name));
          assert.deepEqual(nonzerosPerGroup(w, target.m), new Array(w.length / target.m).fill(target.n), `${l.name} at step ${step}`);
          assert.deepEqual(c.maskOf(l.name), topByMagnitude(dense, target));
          assert.ok(w.every((v, i) => v === (c.maskOf(l.name)[i] ? dense[i] : 0)), 'param.value = W ⊙ M exactly');
        }
        assert.ok(Math.abs(c.sparsity() - (1 - target.n / target.m)) < 1e-12);
      }
      // The masks move while the dense weights train under STE.
      assert.ok(flips > 0 && flips === c.maskFlips, `flips ${flips}`);
      c.dispose();
    });
  }

  it('gives W the gradient g ⊙ (M + alpha (1 - M)) + lambda (1 - M) ⊙ W, computed by hand (MDGF on the gradient)', async () => {
    // One row of 4, 2:4: |W| keeps positions 1 and 3.
    const w0 = [0.5, -2, 0.1, 3];
    const l: SparseLayer = { name: 'w', param: ag.parameter(tensor(new Float32Array(w0), [1, 4]), 'w'), rows: 1, cols: 4 };
    const lambda = 0.1;
    const alpha = 0.3;
    const lr = 0.5;
    const c = new NmStraightThroughController([l], { target: { n: 2, m: 4 }, totalSteps: 5, srsteDecay: lambda, maskDecay: constantDecay(alpha), maskDecayOn: 'gradient' });
    c.start();
    assert.deepEqual(plain(host(l.param.value)), [0, -2, 0, 3]);
    // loss = sum(x W~^T) with x = [1, 2, 3, 4]: dL/dW~ = x.
    const x = [1, 2, 3, 4];
    ag.backward(ag.sumAll(ag.linear(ag.constant(tensor(new Float32Array(x), [1, 4])), l.param)));
    await c.beforeStep(1);
    const mask = [0, 1, 0, 1];
    const expected = x.map((g, i) => g * (mask[i] + alpha * (1 - mask[i])) + lambda * (1 - mask[i]) * w0[i]);
    const got = host(l.param.grad!);
    expected.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-6, `grad[${i}] ${got[i]} vs ${e}`));
    assert.deepEqual([...host(l.param.value)], [...new Float32Array(w0)], 'dense W back in place for the optimizer');
    new Sgd([l.param], { learningRate: lr }).step();
    await c.afterStep(1);
    const w1 = w0.map((w, i) => Math.fround(w - lr * Math.fround(expected[i])));
    // W1 = [0.5 - 0.5 (0.3 + 0.05), -3, 0.1 - 0.5 (0.9 + 0.01), 1] = [0.325, -3, -0.355, 1]: positions 1 and 3 stay.
    const dense = host(c.denseOf('w'));
    w1.forEach((v, i) => assert.ok(Math.abs(dense[i] - v) < 1e-6, `W[${i}] ${dense[i]} vs ${v}`));
    assert.deepEqual([...c.maskOf('w')], [0, 1, 0, 1]);
    assert.deepEqual(plain(host(l.param.value)), [0, dense[1], 0, dense[3]]);
    ag.zeroGrad([l.param]);
    c.dispose();
  });

  it('MDGF on the forward pass (the authors\' code): W~ = W ⊙ (M + alpha (1 - M)), gradient g + lambda (1 - M) ⊙ W', async () => {
    const w0 = [0.5, -2, 0.1, 3, 1, -1.5, 0.25, 0.75];
    const l: SparseLayer = { name: 'w', param: ag.parameter(tensor(new Float32Array(w0), [2, 4]), 'w'), rows: 2, cols: 4 };
    const lambda = 0.05;
    const alpha = 0.4;
    const c = new NmStraightThroughController([l], { target: { n: 2, m: 4 }, totalSteps: 3, srsteDecay: lambda, maskDecay: constantDecay(alpha) });
    c.start();
    const mask = [0, 1, 0, 1, 1, 1, 0, 0];
    assert.deepEqual([...c.maskOf('w')], mask);
    const scaled = host(l.param.value);
    w0.forEach((w, i) => assert.ok(Math.abs(scaled[i] - w * (mask[i] ? 1 : alpha)) < 1e-7, `W~[${i}]`));
    const x = [1, 2, 3, 4];
    ag.backward(ag.sumAll(ag.linear(ag.constant(tensor(new Float32Array(x), [1, 4])), l.param)));
    await c.beforeStep(1);
    const got = host(l.param.grad!);
    w0.forEach((w, i) => assert.ok(Math.abs(got[i] - (x[i % 4] + lambda * (1 - mask[i]) * w)) < 1e-6, `grad[${i}]`));
    ag.zeroGrad([l.param]);
    // Steps 2 and 3 with no gradient: after the last one alpha is dropped and the weights are exactly 2:4.
    for (let step = 1; step <= 3; step++) {
      if (step > 1) await c.beforeStep(step);
      await c.afterStep(step);
      assert.equal(c.currentAlpha, step < 3 ? alpha : 0);
    }
    assert.deepEqual(nonzerosPerGroup(host(l.param.value), 4), [2, 2]);
    c.dispose();
  });

  it('follows the SDGF pattern of each step and ends on the target', async () => {
    const layers = [layer('a', 4, 32, 3)];
    const optimizer = new Sgd(layers.map((l) => l.param), { learningRate: 0.01 });
    const steps = 10;
    const schedule = new StepwiseStructureDecay({ n: 1, m: 8 }, { totalSteps: steps, denseSteps: 2, fineTuneSteps: 2 });
    // Sparse steps 3..8 in four frames starting 0, 1, 3, 4 steps in (floor(i * 6 / 4)).
    const expected = [null, null, '7:8', '4:8', '4:8', '2:8', '1:8', '1:8', '1:8', '1:8'];
    const c = new NmStraightThroughController(layers, { target: { n: 1, m: 8 }, totalSteps: steps, structure: schedule });
    c.start();
    for (let step = 1; step <= steps; step++) {
      const p = c.currentPattern;
      assert.equal(p ? `${p.n}:${p.m}` : null, expected[step - 1], `step ${step}`);
      const w = host(layers[0].param.value);
      if (p) assert.deepEqual(nonzerosPerGroup(w, 8), new Array(w.length / 8).fill(p.n), `step ${step}`);
      else assert.ok(w.every((v) => v !== 0));
      lossStep(layers, step);
      await c.beforeStep(step);
      optimizer.step();
      await c.afterStep(step);
      ag.zeroGrad(layers.map((l) => l.param));
    }
    assert.deepEqual(nonzerosPerGroup(host(layers[0].param.value), 8), new Array(16).fill(1));
    c.dispose();
  });

  it('projects onto the target after the last step even when the schedule is still looser', async () => {
    const layers = [layer('a', 2, 16, 4)];
    // A schedule planned for 4 steps (2:8 for steps 1-2, then 1:4) on a run of 2: steps 1 and 2 are 2:8.
    const schedule = new GeometricStructureDecay({ n: 1, m: 4 }, { totalSteps: 4, frames: 2 });
    const c = new NmStraightThroughController(layers, { target: { n: 1, m: 4 }, totalSteps: 2, structure: schedule });
    c.start();
    assert.deepEqual(c.currentPattern, { n: 2, m: 8 });
    for (let step = 1; step <= 2; step++) {
      await c.beforeStep(step);
      await c.afterStep(step);
    }
    assert.deepEqual(c.currentPattern, { n: 1, m: 4 });
    assert.deepEqual(nonzerosPerGroup(host(layers[0].param.value), 4), new Array(8).fill(1));
    c.dispose();
  });

  it('refuses patterns that do not tile the layer, and steps out of order', async () => {
    const l = layer('a', 2, 12, 5);
    assert.throws(() => new NmStraightThroughController([l], { target: { n: 1, m: 8 }, totalSteps: 3 }), /12 input columns, not a multiple of M = 8/);
    const geometric = new GeometricStructureDecay({ n: 2, m: 4 }, { totalSteps: 8 });
    assert.throws(() => new NmStraightThroughController([l], { target: { n: 2, m: 4 }, totalSteps: 8, structure: geometric }), /not a multiple of M = 32/);
    const c = new NmStraightThroughController([l], { target: { n: 2, m: 4 }, totalSteps: 3 });
    c.start();
    await assert.rejects(c.beforeStep(2), /set up for step 1/);
    c.dispose();
  });
});

describe('N:M schedules', () => {
  it('MDGF-Linear: alpha = max(0, 1 - kappa (t - t0)), 0 from the fine-tuning step', () => {
    const s = new LinearMaskDecay({ coefficient: 0.01, startStep: 10, fineTuneStep: 90 });
    assert.equal(s.at(1), 1);
    assert.equal(s.at(10), 1);
    assert.ok(Math.abs(s.at(60) - 0.5) < 1e-12);
    assert.ok(Math.abs(s.at(89) - 0.21) < 1e-12);
    assert.equal(s.at(90), 0);
    assert.equal(new LinearMaskDecay({ coefficient: 0.01 }).at(150), 0);
    assert.throws(() => new LinearMaskDecay({ coefficient: 0 }), /coefficient must be a finite number > 0/);
  });

  it('MDGF-Exponential: alpha = exp(-kappa (t - t0)), 0 from the fine-tuning step', () => {
    const s = new ExponentialMaskDecay({ coefficient: 0.01, startStep: 10, fineTuneStep: 500 });
    assert.equal(s.at(5), 1);
    assert.ok(Math.abs(s.at(60) - Math.exp(-0.5)) < 1e-12);
    assert.ok(Math.abs(s.at(310) - Math.exp(-3)) < 1e-12);
    assert.equal(s.at(500), 0);
  });

  it('SDGF-Stepwise: (M-1):M, M/2:M, ... N:M in equal frames after the dense phase', () => {
    const s = new StepwiseStructureDecay({ n: 1, m: 8 }, { totalSteps: 100, denseSteps: 10, fineTuneSteps: 10 });
    assert.deepEqual(s.frames, [{ n: 7, m: 8 }, { n: 4, m: 8 }, { n: 2, m: 8 }, { n: 1, m: 8 }]);
    const at = (t: number) => s.patternAt(t)?.n ?? null;
    assert.deepEqual([1, 10, 11, 30, 31, 50, 51, 70, 71, 90, 91, 100, 120].map(at), [null, null, 7, 7, 4, 4, 2, 2, 1, 1, 1, 1, 1]);
    assert.deepEqual(new StepwiseStructureDecay({ n: 2, m: 4 }, { totalSteps: 10 }).frames, [{ n: 3, m: 4 }, { n: 2, m: 4 }]);
    // M/N not a power of two: clamped so the last frame is the target.
    assert.deepEqual(new StepwiseStructureDecay({ n: 3, m: 8 }, { totalSteps: 10 }).frames.map((f) => f.n), [7, 4, 3]);
    assert.deepEqual(new StepwiseStructureDecay({ n: 3, m: 4 }, { totalSteps: 10 }).frames.map((f) => f.n), [3]);
    assert.throws(() => new StepwiseStructureDecay({ n: 1, m: 8 }, { totalSteps: 5, denseSteps: 2 }), /leave 3, fewer than its 4 frames/);
  });

  it('SDGF-Geometric: the density fixed, the group halving each frame', () => {
    const s = new GeometricStructureDecay({ n: 1, m: 8 }, { totalSteps: 40, denseSteps: 8 });
    assert.deepEqual(s.frames, [{ n: 8, m: 64 }, { n: 4, m: 32 }, { n: 2, m: 16 }, { n: 1, m: 8 }]);
    assert.equal(s.patternAt(8), null);
    assert.deepEqual([9, 16, 17, 25, 33, 40].map((t) => s.patternAt(t)!.m), [64, 64, 32, 16, 8, 8]);
  });
});

describe('N:M training end to end', () => {
  it('leaves weights the N:M format stores losslessly, its product matching the dense product of W~', async () => {
    const layers = [layer('a', 6, 16, 7)];
    const optimizer = new AdamW(layers.map((l) => l.param), { learningRate: 0.05, weightDecay: 0 });
    const c = nmSparseTraining(layers, { n: 2, m: 4 }, 5, { method: 'mdgf', decay: 'exponential', srsteDecay: 2e-4 });
    c.start();
    for (let step = 1; step <= 5; step++) {
      lossStep(layers, step);
      await c.beforeStep(step);
      optimizer.step();
      await c.afterStep(step);
      ag.zeroGrad(layers.map((l) => l.param));
    }
    const w = layers[0].param.value;
    const wHost = host(w);
    const nm = await NmMatrix.fromTensor(w, 2, 4);
    assert.deepEqual(plain(await nm.toDense()), plain(wHost));
    const x = randomNormal([3, 16], 9);
    const sparse = host(linear(x, nm));
    const dense = host(linear(x, w));
    sparse.forEach((v, i) => assert.ok(Math.abs(v - dense[i]) <= 1e-5 * (1 + Math.abs(dense[i])), `y[${i}] ${v} vs ${dense[i]}`));
    c.dispose();
  });

  it('learns the teacher task at 2:4 under SR-STE, well above chance', async () => {
    const task = teacherStudentTask({ seed: 3, trainCount: 2000, testCount: 500 });
    const model = new Mlp([32, 64, 10], { seed: 1 });
    const optimizer = new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 });
    const layers = model.layers.map((l, i) => ({ name: `layers.${i}.weight`, param: l.weight, rows: l.outFeatures, cols: l.inFeatures }));
    const steps = 300;
    const c = nmSparseTraining(layers, { n: 2, m: 4 }, steps, { method: 'sr-ste' });
    const r = await trainClassifier({ model, train: task.train, test: task.test, optimizer, steps, batchSize: 32, seed: 1, controller: c });
    assert.equal(r.sparsity, 0.5);
    for (const l of layers) assert.deepEqual(nonzerosPerGroup(host(l.param.value), 4), new Array(l.rows * l.cols / 4).fill(2));
    assert.ok(r.testAccuracy > 0.4, `test accuracy ${r.testAccuracy} (chance 0.1)`);
    c.dispose();
  });

  it('bench cases name each recipe at each pattern and build their controllers', () => {
    const cases = nmTrainingCases();
    assert.deepEqual(cases.map((c) => c.name), ['ste 2:4', 'sr-ste 2:4', 'sr-ste+mdgf-exp 2:4', 'sdgf-stepwise 2:4', 'ste 1:4', 'sr-ste 1:4', 'sr-ste+mdgf-exp 1:4', 'sdgf-stepwise 1:4']);
    const c = cases[6].controller([layer('a', 4, 8, 1)], 100);
    assert.equal(c.srsteDecay, 2e-4);
    assert.ok(Math.abs(c.maskDecay!.at(25) - 0.01) < 1e-9, 'alpha = 1% a quarter of the way in');
    assert.deepEqual(c.target, { n: 1, m: 4 });
  });
});
