/** Sparse model soups: the soup keeps the shared mask and equals the ingredients' element-wise mean (uniform and greedy). */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { teacherStudentTask } from '../../src/data/synthetic-teacher.js';
import { Mlp } from '../../src/nn/mlp.js';
import { AdamW } from '../../src/nn/optim/adamw.js';
import { trainClassifier } from '../../src/training/classifier.js';
import { mlpSparseLayers } from '../../src/training/model-weights.js';
import { sparseModelSoup, type SparseSoupOptions } from '../../src/training/soups.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

describe('sparse model soups', () => {
  const task = teacherStudentTask({ seed: 8, trainCount: 1200, testCount: 300 });
  const heldOut = teacherStudentTask({ seed: 8, trainCount: 300, testCount: 300 }).test;
  const createModel = (seed: number) => new Mlp([32, 32, 10], { seed });
  let options: SparseSoupOptions;

  before(async () => {
    const model = createModel(4);
    await trainClassifier({ model, train: task.train, test: task.test, optimizer: new AdamW([...model.parameters().values()], { learningRate: 5e-3, weightDecay: 0 }), steps: 80, batchSize: 32, seed: 1 });
    options = {
      model,
      createModel,
      // Ingredients differ in batch order and learning rate.
      createOptimizer: (params, i) => new AdamW(params, { learningRate: 2e-3 * (1 + 0.5 * i), weightDecay: 0 }),
      train: task.train,
      test: task.test,
      sparsities: [0.5, 0.75],
      ingredients: 3,
      steps: 30,
      batchSize: 32,
      seed: 21,
    };
  });

  it('averages the ingredients element-wise under one mask, cycle after cycle', async () => {
    const ingredients: { cycle: number; weights: ReadonlyMap<string, Float32Array> }[] = [];
    const result = await sparseModelSoup({ ...options, onIngredient: ({ cycle, weights }) => ingredients.push({ cycle, weights }) });
    assert.equal(result.cycles.length, 2);
    for (const c of result.cycles) {
      assert.equal(c.prunedNonzero, 0);
      assert.equal(c.sparsity, c.targetSparsity);
      assert.deepEqual(c.chosen, [0, 1, 2]);
      assert.equal(c.ingredientAccuracies.length, 3);
      assert.equal(c.bestIngredientAccuracy, Math.max(...c.ingredientAccuracies));
      // Every ingredient of the cycle has zeros exactly where the mask is 0.
      for (const ing of ingredients.filter((i) => i.cycle === c.cycle)) {
        for (const [name, mask] of c.masks) ing.weights.get(name)!.forEach((v, i) => assert.ok(mask[i] || v === 0, `${name}[${i}]`));
      }
    }
    // The second cycle prunes inside the first one's mask.
    for (const [name, mask] of result.cycles[1].masks) mask.forEach((m, i) => assert.ok(!m || result.cycles[0].masks.get(name)![i]));
    const last = ingredients.filter((i) => i.cycle === 1);
    assert.equal(last.length, 3);
    let differing = 0;
    for (const [name, soup] of result.soupWeights) {
      soup.forEach((v, i) => {
        const values = last.map((l) => l.weights.get(name)![i]);
        const mean = values.reduce((a, b) => a + b, 0) / 3;
        assert.ok(Math.abs(v - mean) <= 1e-6 * Math.max(1, Math.abs(mean)), `${name}[${i}]: ${v} vs ${mean}`);
        if (values[0] !== values[1]) differing++;
      });
    }
    // The ingredients really differ (nearly all of the 336 kept weights and 42 biases), so the mean is none of them.
    assert.ok(differing > 300, `${differing} differing weights`);
    const soupModelWeights = mlpSparseLayers(result.soup).map((l) => l.param.value.readSync() as Float32Array);
    assert.deepEqual(soupModelWeights[0], result.soupWeights.get('layers.0.weight'));
  });

  it('greedy soups start from the best held-out ingredient and average only those chosen', async () => {
    const weights: ReadonlyMap<string, Float32Array>[] = [];
    const result = await sparseModelSoup({ ...options, sparsities: [0.6], recipe: 'greedy', heldOut, onIngredient: ({ weights: w }) => weights.push(w) });
    const [c] = result.cycles;
    assert.ok(c.chosen.length >= 1 && c.chosen.length <= 3);
    assert.equal(new Set(c.chosen).size, c.chosen.length);
    assert.equal(c.prunedNonzero, 0);
    for (const [name, soup] of result.soupWeights) {
      soup.forEach((v, i) => {
        const mean = c.chosen.reduce((s, k) => s + weights[k].get(name)![i], 0) / c.chosen.length;
        assert.ok(Math.abs(v - mean) <= 1e-6 * Math.max(1, Math.abs(mean)));
      });
    }
    await assert.rejects(sparseModelSoup({ ...options, recipe: 'greedy' }), /heldOut/);
  });
});
