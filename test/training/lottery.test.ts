/** Iterative magnitude pruning with rewinding: exact per-round sparsity, survivors rewound to step k, magnitude order, the reinit control. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkTrainingBars, type TrainingRecord } from '../../src/bench/training.js';
import { teacherStudentTask } from '../../src/data/synthetic-teacher.js';
import { Mlp } from '../../src/nn/mlp.js';
import { AdamW } from '../../src/nn/optim/adamw.js';
import { warmupCosine } from '../../src/nn/optim/schedule.js';
import { trainClassifier } from '../../src/training/classifier.js';
import { iterativeMagnitudePruning, type LotteryOptions } from '../../src/training/lottery.js';
import { FixedMask } from '../../src/training/methods/fixed-mask.js';
import { mlpSparseLayers, snapshotWeights } from '../../src/training/model-weights.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

describe('iterative magnitude pruning with rewinding', () => {
  const task = teacherStudentTask({ seed: 5, trainCount: 1000, testCount: 300 });
  const schedule = warmupCosine({ peak: 5e-3, warmupSteps: 5, totalSteps: 60, minRatio: 0.1 });
  const base: LotteryOptions = {
    createModel: (seed) => new Mlp([32, 32, 10], { seed }),
    initSeed: 11,
    createOptimizer: (params) => new AdamW(params, { learningRate: 5e-3, weightDecay: 0 }),
    train: task.train,
    test: task.test,
    steps: 60,
    rewindStep: 10,
    pruneFraction: 0.5,
    rounds: 2,
    batchSize: 32,
    seed: 3,
    schedule,
  };

  it('reaches 1 - (1 - p)^r each round and rewinds the survivors to their step-k values', async () => {
    // theta_k by an independent run: the same model, optimizer, schedule and batches for k steps.
    const reference = base.createModel(base.initSeed);
    await trainClassifier({ model: reference, train: task.train, test: task.test, optimizer: base.createOptimizer([...reference.parameters().values()]), steps: 10, batchSize: 32, seed: 3, schedule });
    const thetaK = await snapshotWeights(reference);
    const checked: number[] = [];
    let firstMasks: Map<string, Uint8Array> | null = null;
    const result = await iterativeMagnitudePruning({
      ...base,
      onRewind: async ({ round, model, masks }) => {
        const now = await snapshotWeights(model);
        for (const [name, values] of now) {
          const mask = masks.get(name);
          const expected = thetaK.get(name)!;
          values.forEach((v, i) => assert.equal(v, mask && !mask[i] ? 0 : expected[i], `${name}[${i}] after rewind ${round}`));
        }
        if (round === 1) firstMasks = new Map([...masks].map(([k, v]) => [k, v.slice()]));
        checked.push(round);
      },
    });
    assert.deepEqual(checked, [1, 2]);
    assert.deepEqual(result.rounds.map((r) => r.sparsity), [0.5, 0.75]);
    assert.deepEqual(result.rounds.map((r) => r.targetSparsity), [0.5, 0.75]);
    // Round 1 kept the largest trained magnitudes of each layer, half of each.
    for (const [name, mask] of firstMasks!) {
      let smallestKept = Infinity;
      let largestPruned = 0;
      let kept = 0;
      result.denseWeights.get(name)!.forEach((v, i) => {
        kept += mask[i];
        if (mask[i]) smallestKept = Math.min(smallestKept, Math.abs(v));
        else largestPruned = Math.max(largestPruned, Math.abs(v));
      });
      assert.equal(kept, mask.length / 2, name);
      assert.ok(largestPruned <= smallestKept, `${name}: pruned ${largestPruned} > kept ${smallestKept}`);
    }
    assert.ok(result.rounds.every((r) => r.reinitAccuracy === null));
    assert.ok(result.denseAccuracy > 0.3, `dense accuracy ${result.denseAccuracy}`);
    assert.ok(result.rounds[1].testAccuracy > 0.2, `ticket accuracy ${result.rounds[1].testAccuracy}`);
  });

  it('prunes by global magnitude to within one weight of the target, with the control on the last round', async () => {
    const rounds: { round: number; sparsity: number }[] = [];
    let firstMasks: Map<string, Uint8Array> | null = null;
    let trainedDense: Map<string, Float32Array> | null = null;
    const result = await iterativeMagnitudePruning({
      ...base,
      rewindStep: 0,
      pruneFraction: 0.2,
      scope: 'global',
      randomReinit: 'last-round',
      steps: 40,
      schedule: undefined,
      onRewind: ({ round, masks }) => {
        if (round === 1) firstMasks = new Map([...masks].map(([k, v]) => [k, v.slice()]));
      },
    });
    trainedDense = result.denseWeights;
    const total = 32 * 32 + 32 * 10;
    for (const r of result.rounds) {
      rounds.push({ round: r.round, sparsity: r.sparsity });
      assert.ok(Math.abs(r.sparsity - (1 - 0.8 ** r.round)) <= 0.5 / total + 1e-12, `round ${r.round}: ${r.sparsity}`);
    }
    // Global: one threshold over both layers on the dense weights of round 1.
    let smallestKept = Infinity;
    let largestPruned = 0;
    for (const [name, mask] of firstMasks!) {
      trainedDense.get(name)!.forEach((v, i) => {
        if (mask[i]) smallestKept = Math.min(smallestKept, Math.abs(v));
        else largestPruned = Math.max(largestPruned, Math.abs(v));
      });
    }
    assert.ok(largestPruned <= smallestKept, `pruned ${largestPruned} > kept ${smallestKept}`);
    assert.equal(result.rounds[0].reinitAccuracy, null);
    assert.ok(result.rounds[1].reinitAccuracy! > 0.1);
    assert.equal(rounds.length, 2);
  });

  it('rejects a rewind step outside the run, and a fixed mask that misses a layer', async () => {
    await assert.rejects(iterativeMagnitudePruning({ ...base, rewindStep: 60 }), /rewindStep/);
    const model = new Mlp([4, 3], { seed: 1 });
    assert.throws(() => new FixedMask(new Map()).initialMasks(mlpSparseLayers(model)), /no mask for layer 'layers.0.weight'/);
  });
});

describe('prune-retrain benchmark checks', () => {
  const rec = (method: TrainingRecord['method'], sparsity: number, value: number): TrainingRecord => ({
    method, sparsity, distribution: null, value, denseValue: 0.85, values: [value], task: 't', metric: 'test accuracy', steps: 1, examplesPerS: 1,
  });

  it('pair each case with its control at the same sparsity, in accuracy points', () => {
    const bars = Object.fromEntries(
      checkTrainingBars([rec('imp', 0.5, 0.8), rec('imp', 0.84, 0.78), rec('imp-reinit', 0.84, 0.75), rec('soup', 0.84, 0.79), rec('soup-best-ingredient', 0.84, 0.8), rec('quickselection', 0.8, 0.9), rec('random-features', 0.8, 0.6)]).map((b) => [b.bar, b]),
    );
    assert.equal(Object.keys(bars).length, 3);
    assert.ok(Math.abs(bars['84% IMP: rewound ticket - random reinit (accuracy points)'].value - 3) < 1e-9);
    assert.equal(bars['84% IMP: rewound ticket - random reinit (accuracy points)'].pass, true);
    assert.equal(bars['84% sparse soup - best ingredient (accuracy points)'].pass, false);
    assert.ok(Math.abs(bars['QuickSelection top 20% of features - random (accuracy points)'].value - 30) < 1e-9);
  });
});
