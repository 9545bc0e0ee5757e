/** Criteria, score-and-select pruning and the registry. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { MagnitudeCriterion } from '../../src/pruning/criteria/magnitude.js';
import { RandomCriterion } from '../../src/pruning/criteria/random.js';
import { WandaCriterion } from '../../src/pruning/criteria/wanda.js';
import { ScorePrune } from '../../src/pruning/methods/score-prune.js';
import { SparseGpt } from '../../src/pruning/methods/sparsegpt.js';
import { methodByName, METHOD_NAMES, parsePatternSpec, patternByName, refinerByName, REFINER_NAMES, validateSparsity } from '../../src/pruning/registry.js';
import type { PruneTarget } from '../../src/pruning/types.js';
import { syntheticLayer } from './synthetic-layer.js';

const ROW = { kind: 'unstructured', group: 'row' } as const;

describe('criteria', () => {
  const layer = syntheticLayer(3, { rows: 8, cols: 16, tokens: 32 });

  it('magnitude: |W|', () => {
    assert.deepEqual(new MagnitudeCriterion().score(layer.target), layer.target.weight.map(Math.abs));
  });

  it('wanda: fl32(|W_ij| * fl32(sqrt(sum_t x_tj^2))), the order of the authors\u2019 |W| * sqrt(scaler_row)', () => {
    const scores = new WandaCriterion().score(layer.target);
    const { sumSquares } = layer.target.stats!;
    for (let i = 0; i < scores.length; i++) {
      assert.equal(scores[i], Math.fround(Math.abs(layer.target.weight[i]) * Math.fround(Math.sqrt(sumSquares[i % 16]))));
    }
    assert.throws(() => new WandaCriterion().score({ ...layer.target, stats: null }), /no calibration statistics/);
  });

  it('random: uniform in [0, 1), the same for a seed and name, different across names and seeds', () => {
    const a = new RandomCriterion(5).score(layer.target);
    assert.deepEqual(new RandomCriterion(5).score(layer.target), a);
    assert.notDeepEqual(new RandomCriterion(6).score(layer.target), a);
    assert.notDeepEqual(new RandomCriterion(5).score({ ...layer.target, name: 'other.weight' }), a);
    assert.ok(a.every((v) => v >= 0 && v < 1));
  });
});

describe('score-and-select pruning', () => {
  const layer = syntheticLayer(4, { rows: 8, cols: 16, tokens: 32 });

  it('zeroes exactly the unselected weights and leaves the target untouched', () => {
    const before = layer.target.weight.slice();
    const r = new ScorePrune(new MagnitudeCriterion()).prune(layer.target, 0.5, ROW);
    assert.deepEqual(layer.target.weight, before);
    assert.deepEqual(r.weight, r.mask.apply(before));
    assert.equal(r.mask.count(), 64);
    for (let row = 0; row < 8; row++) {
      const kept = [...before.subarray(row * 16, row * 16 + 16)].filter((_, j) => r.mask.get(row * 16 + j)).map(Math.abs);
      const gone = [...before.subarray(row * 16, row * 16 + 16)].filter((_, j) => !r.mask.get(row * 16 + j)).map(Math.abs);
      assert.ok(Math.min(...kept) >= Math.max(...gone));
    }
  });

  it("the method's group overrides the spec's (the recipe's `group`)", () => {
    const target: PruneTarget = { name: 'skewed.weight', rows: 2, cols: 4, weight: Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]), stats: null };
    const byRow = new ScorePrune(new MagnitudeCriterion()).prune(target, 0.5, ROW);
    const byLayer = new ScorePrune(new MagnitudeCriterion(), { group: 'layer' }).prune(target, 0.5, ROW);
    assert.deepEqual([...byRow.weight], [0, 0, 3, 4, 0, 0, 30, 40]);
    assert.deepEqual([...byLayer.weight], [0, 0, 0, 0, 10, 20, 30, 40]);
    assert.deepEqual([...methodByName('magnitude').prune(target, 0.5, { kind: 'unstructured', group: 'layer' }).weight], [0, 0, 0, 0, 10, 20, 30, 40]);
  });
});

describe('registry', () => {
  it('has the four methods and DSnoT, with the statistics each needs', () => {
    assert.deepEqual(METHOD_NAMES, ['magnitude', 'random', 'wanda', 'sparsegpt']);
    assert.deepEqual(REFINER_NAMES, ['dsnot']);
    assert.deepEqual(
      METHOD_NAMES.map((n) => [methodByName(n).name, methodByName(n).needs]),
      [
        ['magnitude', { norms: false, gram: false }],
        ['random', { norms: false, gram: false }],
        ['wanda', { norms: true, gram: false }],
        ['sparsegpt', { norms: false, gram: true }],
      ],
    );
    assert.deepEqual(refinerByName('dsnot').needs, { norms: true, gram: false });
    const sparsegpt = methodByName('sparsegpt', { sequences: 8 });
    assert.ok(sparsegpt instanceof SparseGpt && sparsegpt.options.sequences === 8);
  });

  it('unknown names are ArgumentErrors listing the valid ones', () => {
    assert.throws(() => methodByName('obs'), (e: unknown) => e instanceof ArgumentError && /magnitude, random, wanda, sparsegpt/.test(e.message));
    assert.throws(() => methodByName('toString'), ArgumentError);
    assert.throws(() => refinerByName('rigl'), (e: unknown) => e instanceof ArgumentError && /valid refiners: dsnot/.test(e.message));
  });

  it('parses patterns from CLI text', () => {
    assert.deepEqual(parsePatternSpec('unstructured'), ROW);
    assert.deepEqual(parsePatternSpec('unstructured', 'layer'), { kind: 'unstructured', group: 'layer' });
    assert.deepEqual(parsePatternSpec('2:4'), { kind: 'nm', n: 2, m: 4 });
    assert.deepEqual(parsePatternSpec(' 4:8 '), { kind: 'nm', n: 4, m: 8 });
    assert.deepEqual(parsePatternSpec('block:16x16'), { kind: 'block', rows: 16, cols: 16 });
    assert.deepEqual(parsePatternSpec('block:4x32'), { kind: 'block', rows: 4, cols: 32 });
    assert.deepEqual(patternByName('1:4').spec, { kind: 'nm', n: 1, m: 4 });
    for (const bad of ['4:4', '5:4', '0:4']) assert.throws(() => parsePatternSpec(bad), ArgumentError, bad);
    for (const bad of ['dense', 'block:0x4', 'block:4', 'block:4x', '2-4', '']) {
      assert.throws(() => parsePatternSpec(bad), (e: unknown) => e instanceof ArgumentError && (/valid patterns/.test(e.message) || /at least 1/.test(e.message)), bad);
    }
  });

  it('sparsity must be in [0, 1)', () => {
    for (const s of [0, 0.5, 0.999]) validateSparsity(s);
    for (const s of [1, -0.01, NaN, Infinity]) assert.throws(() => validateSparsity(s), ArgumentError);
    assert.throws(() => methodByName('wanda').prune(syntheticLayer(1, { rows: 2, cols: 4, tokens: 4 }).target, 1, ROW), /sparsity must be in \[0, 1\)/);
  });
});
