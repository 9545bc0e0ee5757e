/** The classifier loop end to end on a small teacher task, dense and under RigL; the benchmark's checks. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkTrainingBars, type TrainingRecord } from '../../src/bench/training.js';
import { teacherStudentTask } from '../../src/data/synthetic-teacher.js';
import { Mlp } from '../../src/nn/mlp.js';
import { AdamW } from '../../src/nn/optim/index.js';
import { Rigl, SparsityController, trainClassifier } from '../../src/training/index.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

describe('classifier training', () => {
  const task = teacherStudentTask({ seed: 3, trainCount: 2000, testCount: 500 });

  it('learns the teacher task well above chance, the loss falling', async () => {
    const model = new Mlp([32, 64, 10], { seed: 1 });
    const optimizer = new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 });
    const r = await trainClassifier({ model, train: task.train, test: task.test, optimizer, steps: 300, batchSize: 32, seed: 1 });
    const first = r.losses.slice(0, 20).reduce((s, l) => s + l.loss, 0) / 20;
    assert.ok(r.finalLoss < 0.7 * first, `loss ${first.toFixed(3)} -> ${r.finalLoss.toFixed(3)}`);
    assert.ok(r.testAccuracy > 0.4, `test accuracy ${r.testAccuracy} (chance 0.1)`);
  });

  it('trains under RigL at exactly the target sparsity, its masks moving', async () => {
    const model = new Mlp([32, 64, 10], { seed: 2 });
    const optimizer = new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 });
    const layers = model.layers.map((l, i) => ({ name: `layers.${i}.weight`, param: l.weight, rows: l.outFeatures, cols: l.inFeatures }));
    const controller = new SparsityController(layers, new Rigl({ sparsity: 0.8, distribution: 'erk', seed: 1, interval: 25, endStep: 200 }), optimizer);
    const r = await trainClassifier({ model, train: task.train, test: task.test, optimizer, steps: 300, batchSize: 32, seed: 1, controller });
    assert.ok(Math.abs(r.sparsity - 0.8) < 1e-3, `sparsity ${r.sparsity}`);
    assert.ok(controller.updates >= 5 && controller.weightsMoved > 0);
    const w = layers[0].param.value.readSync() as Float32Array;
    const mask = controller.maskOf('layers.0.weight');
    assert.ok(w.every((v, i) => mask[i] || v === 0));
    assert.ok(r.testAccuracy > 0.25, `test accuracy ${r.testAccuracy}`);
  });
});

describe('training benchmark checks', () => {
  const rec = (method: TrainingRecord['method'], sparsity: number, distribution: TrainingRecord['distribution'], value: number): TrainingRecord => ({
    method, sparsity, distribution, value, denseValue: 0.85, values: [value], task: 't', metric: 'test accuracy', steps: 1, examplesPerS: 1,
  });

  it('compare in accuracy points and fail when an ordering breaks', () => {
    const bars = Object.fromEntries(
      checkTrainingBars([rec('dense', 0, null, 0.85), rec('static', 0.9, 'erk', 0.7), rec('set', 0.9, 'erk', 0.72), rec('rigl', 0.9, 'erk', 0.71), rec('gmp', 0.8, 'erk', 0.845)]).map((b) => [b.bar, b]),
    );
    assert.equal(bars['90% ERK: RigL - SET (accuracy points)'].pass, false);
    assert.ok(Math.abs(bars['90% ERK: SET - static (accuracy points)'].value - 2) < 1e-9);
    assert.equal(bars['80% gradual pruning - dense (accuracy points)'].pass, true);
    assert.equal(bars['90% static: ERK - uniform (accuracy points)'], undefined);
  });
});
