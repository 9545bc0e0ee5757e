/** The small CNN on the synthetic prototype images: dense above chance; RigL and static sparsity hold their masks. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { tensor } from '../../src/core/ops.js';
import { prototypeImageTask } from '../../src/data/synthetic-images.js';
import { Cnn } from '../../src/nn/cnn.js';
import { AdamW } from '../../src/nn/optim/index.js';
import type { TrainingSparsityHook } from '../../src/training/hook.js';
import { layerDensities, Rigl, type SparseLayer, SparsityController, StaticSparse, trainClassifier } from '../../src/training/index.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

/** Every weight matrix of the CNN as a sparse layer: convs [O, C kh kw] with their kernel, then the head. */
function sparseLayers(model: Cnn): SparseLayer[] {
  return [
    ...model.convs.map((c, i) => ({ name: `convs.${i}.weight`, param: c.weight, rows: c.outChannels, cols: c.inChannels * c.kernel[0] * c.kernel[1], kernel: c.kernel })),
    { name: 'head.weight', param: model.head.weight, rows: model.head.outFeatures, cols: model.head.inFeatures },
  ];
}

/** Each layer keeps exactly round(density * n) weights (ERK with kernels), and every pruned weight is exactly zero. */
function assertMasksHeld(layers: readonly SparseLayer[], controller: SparsityController, sparsity: number): void {
  const densities = layerDensities(layers, sparsity, 'erk');
  for (const l of layers) {
    const mask = controller.maskOf(l.name);
    const n = l.rows * l.cols;
    assert.equal(
      mask.reduce((s, v) => s + v, 0),
      Math.round(densities.get(l.name)! * n),
      `${l.name}: kept weights`,
    );
    const w = l.param.value.readSync() as Float32Array;
    assert.ok(
      w.every((v, i) => mask[i] === 1 || v === 0),
      `${l.name}: a pruned weight is not zero`,
    );
  }
}

describe('Cnn', () => {
  // 2000 training images, 10 classes (chance 0.1). Measured at 150 steps, batch 32, AdamW 5e-3,
  // channels [8, 16]: dense 0.88 (seeds 1-3 with [4, 8] channels: 0.87-0.92); RigL at 80% ERK
  // 0.76-0.82 over seeds 1-3. Thresholds sit well below both.
  const task = prototypeImageTask({ seed: 5, trainCount: 2000, testCount: 500 });
  const options = { train: task.train, test: task.test, steps: 150, batchSize: 32, seed: 1 };

  it('maps [B, C, H, W] to logits and names its parameters', () => {
    const model = new Cnn({ inputShape: [1, 28, 28], classes: 10, seed: 1 });
    assert.deepEqual([...model.parameters().keys()], ['convs.0.weight', 'convs.0.bias', 'convs.1.weight', 'convs.1.bias', 'head.weight', 'head.bias']);
    assert.deepEqual(model.convs[1].weight.shape, [16, 8, 3, 3]);
    assert.equal(model.head.inFeatures, 16 * 7 * 7);
    const y = ag.noGrad(() => model.forward(ag.constant(tensor(new Float32Array(3 * 784).fill(0.5), [3, 1, 28, 28]))));
    assert.deepEqual(y.shape, [3, 10]);
    assert.throws(() => new Cnn({ inputShape: [28, 28], classes: 10, seed: 1 }));
  });

  it('learns the prototype images far above chance, the loss falling', async () => {
    const model = new Cnn({ inputShape: [1, 28, 28], classes: 10, seed: 1 });
    const optimizer = new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 });
    const r = await trainClassifier({ ...options, model, optimizer });
    const first = r.losses.slice(0, 10).reduce((s, l) => s + l.loss, 0) / 10;
    assert.ok(r.finalLoss < 0.5 * first, `loss ${first.toFixed(3)} -> ${r.finalLoss.toFixed(3)}`);
    assert.ok(r.testAccuracy > 0.6, `test accuracy ${r.testAccuracy} (chance 0.1)`);
  });

  it('trains under RigL at 80% ERK over conv and linear weights, masks at the target, pruned weights zero', async () => {
    const model = new Cnn({ inputShape: [1, 28, 28], classes: 10, seed: 1 });
    const optimizer = new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 });
    const layers = sparseLayers(model);
    const controller = new SparsityController(layers, new Rigl({ sparsity: 0.8, distribution: 'erk', seed: 1, interval: 25, endStep: 110 }), optimizer);
    const hook: TrainingSparsityHook = controller;
    const r = await trainClassifier({ ...options, model, optimizer, controller: hook });
    assert.ok(Math.abs(r.sparsity - 0.8) < 1e-3, `sparsity ${r.sparsity}`);
    assert.ok(controller.updates >= 3 && controller.weightsMoved > 0, `${controller.updates} updates moved ${controller.weightsMoved} weights`);
    assertMasksHeld(layers, controller, 0.8);
    assert.ok(r.testAccuracy > 0.45, `test accuracy ${r.testAccuracy} (chance 0.1)`);
  });

  it('keeps static 80% ERK masks through training', async () => {
    const model = new Cnn({ inputShape: [1, 28, 28], classes: 10, seed: 2 });
    const optimizer = new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 });
    const layers = sparseLayers(model);
    const controller = new SparsityController(layers, new StaticSparse({ sparsity: 0.8, distribution: 'erk', seed: 2 }), optimizer);
    await trainClassifier({ ...options, steps: 20, model, optimizer, controller });
    assertMasksHeld(layers, controller, 0.8);
    // The kernel-aware ERK gives the 3x3 convs their own densities, not the uniform 20%.
    const convDensity = controller.maskOf('convs.1.weight').reduce((s, v) => s + v, 0) / (16 * 8 * 9);
    assert.ok(Math.abs(convDensity - 0.2) > 0.02, `conv density ${convDensity}`);
  });
});
