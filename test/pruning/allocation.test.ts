/**
 * Allocators: every one meets the budget (parameter-weighted mean = target within one weight per
 * layer) inside the bounds on random layer sets; ERK against a hand computation; global against
 * a known threshold; OWL on blocks crafted to differ in outliers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { blockSparsities, outlierRatio } from '../../src/pruning/allocation/owl.js';
import { ALLOCATOR_NAMES, allocatorByName, erkDensities, formatBudgets, shiftToTarget } from '../../src/pruning/allocation/registry.js';
import type { AllocationContext, AllocationLayer, LinearInputStats } from '../../src/pruning/types.js';

function stats(sumSquares: ArrayLike<number>, tokens = 16): LinearInputStats {
  return { tokens, sumSquares: Float64Array.from(sumSquares), sum: new Float64Array(sumSquares.length), gram: null };
}

function layer(name: string, rows: number, cols: number, block: number, weight: ArrayLike<number>, sumSquares?: ArrayLike<number>): AllocationLayer {
  return { name, rows, cols, block, weight: Float32Array.from(weight), stats: sumSquares ? stats(sumSquares) : null };
}

function randomLayers(seed: number, count: number): AllocationLayer[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    const rows = 1 + rng.int(40);
    const cols = 1 + rng.int(40);
    const w = Array.from({ length: rows * cols }, () => rng.normal() * (1 + i));
    const ss = Array.from({ length: cols }, () => 16 * Math.exp(rng.normal()));
    return layer(`l${i}`, rows, cols, Math.floor(i / 3), w, ss);
  });
}

/** A search context whose objective is a fixed random function of the budgets. */
function randomContext(target: number): AllocationContext {
  const levels: number[] = [];
  for (let k = -4; k <= 4; k++) if (target + k * 0.05 >= 0 && target + k * 0.05 < 1) levels.push(target + k * 0.05);
  return {
    levels,
    tokens: 256,
    seed: 3,
    evaluate: async (s) => [...s.values()].reduce((a, v, i) => a + Math.sin(7 * i + 13 * v), 0),
  };
}

/**
 * Bounds: [0, 1) always; [0, 1 - 1/n] (one weight kept) for every allocator but uniform, which is
 * the target by definition, and EvoPress, which starts from uniform (it never climbs past the bound).
 */
function assertBudget(layers: readonly AllocationLayer[], budgets: ReadonlyMap<string, number>, target: number, what: string, keepsOne = true): void {
  assert.equal(budgets.size, layers.length, `${what}: one budget per layer`);
  let pruned = 0;
  let total = 0;
  for (const l of layers) {
    const s = budgets.get(l.name);
    assert.ok(s !== undefined, `${what}: ${l.name} has a budget`);
    const n = l.rows * l.cols;
    assert.ok(s >= 0 && s < 1 && (!keepsOne || s <= 1 - 1 / n + 1e-12), `${what}: ${l.name} sparsity ${s} within [0, 1 - 1/${n}]`);
    pruned += s * n;
    total += n;
  }
  assert.ok(Math.abs(pruned - target * total) <= layers.length, `${what}: ${pruned} weights pruned, target ${target * total} (+- ${layers.length})`);
}

describe('allocators', () => {
  it('meet the budget within one weight per layer, inside [0, 1 - 1/n], on random layer sets', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const layers = randomLayers(seed, 6 + 3 * seed);
      for (const target of [0, 0.1, 0.5, 0.7, 0.9]) {
        for (const name of ALLOCATOR_NAMES) {
          const options = name === 'global' && seed % 2 === 0 ? { score: 'wanda' as const } : { generations: 3, offspring: 4 };
          const allocator = allocatorByName(name, options);
          const budgets = await allocator.allocate(layers, target, allocator.searches ? randomContext(target) : undefined);
          assertBudget(layers, budgets, target, `${name}, seed ${seed}, target ${target}`, name !== 'uniform' && name !== 'evopress');
        }
      }
    }
  });

  it('the continuous allocators hit the target to float precision, global to the whole weight', async () => {
    const layers = randomLayers(9, 12);
    const total = layers.reduce((a, l) => a + l.rows * l.cols, 0);
    for (const name of ['erk', 'owl', 'uniform']) {
      const b = await allocatorByName(name).allocate(layers, 0.6);
      const pruned = layers.reduce((a, l) => a + b.get(l.name)! * l.rows * l.cols, 0);
      assert.ok(Math.abs(pruned - 0.6 * total) < 1e-6, `${name}: ${pruned} vs ${0.6 * total}`);
    }
    const g = await allocatorByName('global').allocate(layers, 0.6);
    const counts = layers.map((l) => g.get(l.name)! * l.rows * l.cols);
    counts.forEach((c) => assert.ok(Math.abs(c - Math.round(c)) < 1e-9, 'whole weights per layer'));
    assert.equal(Math.round(counts.reduce((a, b) => a + b, 0)), Math.round(0.6 * total));
  });

  it('reject a target outside [0, 1) with an ArgumentError, and unknown names listing the valid ones', async () => {
    const layers = randomLayers(1, 4);
    for (const name of ALLOCATOR_NAMES) {
      for (const bad of [-0.1, 1, 1.5, Number.NaN]) {
        await assert.rejects(allocatorByName(name).allocate(layers, bad, randomContext(0.5)), (e: unknown) => e instanceof ArgumentError && /\[0, 1\)/.test(e.message), `${name} at ${bad}`);
      }
    }
    assert.throws(() => allocatorByName('owls'), (e: unknown) => e instanceof ArgumentError && /uniform, global, erk, owl, evopress/.test(e.message));
    assert.throws(() => allocatorByName('global', { score: 'random' as 'wanda' }), ArgumentError);
    await assert.rejects(allocatorByName('global', { score: 'wanda' }).allocate([layer('a', 1, 2, 0, [1, 2])], 0.5), /calibration norms/);
  });

  it('uniform gives every layer the target', async () => {
    const layers = randomLayers(2, 5);
    const b = await allocatorByName('uniform').allocate(layers, 0.37);
    for (const l of layers) assert.equal(b.get(l.name), 0.37);
  });

  it('formatBudgets prints one row per layer and the parameter-weighted total', async () => {
    const layers = [layer('a', 2, 2, 0, [1, 2, 3, 4]), layer('b', 2, 4, 1, [1, 2, 3, 4, 5, 6, 7, 8])];
    const { head, rows } = formatBudgets(layers, new Map([['a', 0.25], ['b', 0.5]]));
    assert.deepEqual(head, ['layer', 'block', 'shape', 'weights', 'sparsity', 'kept']);
    assert.deepEqual(rows, [
      ['a', '0', '2x2', '4', '25.00%', '3'],
      ['b', '1', '2x4', '8', '50.00%', '4'],
      ['total', '', '', '12', '41.67%', '7'],
    ]);
  });
});

describe('erk', () => {
  it('matches a hand computation, with the smallest layer forced dense', async () => {
    // raw (n_in + n_out) / (n_in n_out): A 4x4 -> 1/2, B 8x8 -> 1/4, C 2x2 -> 1. Target 0.5 of 84
    // weights keeps 42. First eps = 42 / (8 + 16 + 4) = 1.5: C at 1.5 > 1 -> dense. Then
    // eps = (0.5 * 80 - 0.5 * 4) / (8 + 16) = 38 / 24: A density 19/24, B 19/48.
    const layers = [layer('A', 4, 4, 0, new Array(16).fill(1)), layer('B', 8, 8, 0, new Array(64).fill(1)), layer('C', 2, 2, 0, new Array(4).fill(1))];
    const d = erkDensities(layers, 0.5);
    assert.ok(Math.abs(d[0] - 19 / 24) < 1e-12 && Math.abs(d[1] - 19 / 48) < 1e-12 && d[2] === 1, `densities ${d}`);
    const b = await allocatorByName('erk').allocate(layers, 0.5);
    assert.ok(Math.abs(b.get('A')! - 5 / 24) < 1e-12);
    assert.ok(Math.abs(b.get('B')! - 29 / 48) < 1e-12);
    assert.equal(b.get('C'), 0);
  });

  it('without a dense layer, density is proportional to (n_in + n_out) / (n_in n_out)', async () => {
    const layers = [layer('A', 4, 8, 0, new Array(32).fill(1)), layer('B', 8, 16, 0, new Array(128).fill(1))];
    const b = await allocatorByName('erk').allocate(layers, 0.8);
    const ratio = (1 - b.get('A')!) / (1 - b.get('B')!);
    assert.ok(Math.abs(ratio - 12 / 32 / (24 / 128)) < 1e-12, `ratio ${ratio}`);
  });
});

describe('global', () => {
  it('prunes below one threshold across layers (magnitude)', async () => {
    // A: 1..10, B: 0.5, 1.5, ..., 9.5 (signs mixed), C: 100..109. 30% of 30 = the 9 smallest:
    // 0.5 1 1.5 2 2.5 3 3.5 4 4.5, threshold 4.5 -> A 4, B 5, C 0.
    const A = layer('A', 2, 5, 0, [1, -2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const B = layer('B', 5, 2, 0, [0.5, -1.5, 2.5, 3.5, -4.5, 5.5, 6.5, 7.5, 8.5, 9.5]);
    const C = layer('C', 1, 10, 1, Array.from({ length: 10 }, (_, i) => 100 + i));
    const b = await allocatorByName('global').allocate([A, B, C], 0.3);
    assert.deepEqual([b.get('A'), b.get('B'), b.get('C')], [0.4, 0.5, 0]);
  });

  it('keeps one weight in a layer the threshold would empty, and finds the threshold again', async () => {
    const A = layer('A', 1, 10, 0, Array.from({ length: 10 }, (_, i) => 1 + i));
    const B = layer('B', 1, 10, 0, Array.from({ length: 10 }, (_, i) => 0.05 + 0.1 * i));
    const C = layer('C', 1, 10, 0, Array.from({ length: 10 }, (_, i) => 100 + i));
    // 15 of 30: B's 10 would all go; B keeps one (9), and 6 more come from A (1..6).
    const b = await allocatorByName('global').allocate([A, B, C], 0.5);
    assert.deepEqual([b.get('A'), b.get('B'), b.get('C')], [0.6, 0.9, 0]);
  });

  it('ranks by |W| * ||X|| with the wanda score, and breaks ties in layer order for an exact count', async () => {
    // All weights 1. A's column norms 1 2 3 4, B's 0.5 2.5: 3 smallest Wanda scores are B's two
    // 0.5 and A's 1. By magnitude every score ties: the first 3 in layer order (all A).
    const A = layer('A', 1, 4, 0, [1, 1, 1, 1], [1, 4, 9, 16]);
    const B = layer('B', 2, 2, 1, [1, 1, 1, 1], [0.25, 6.25]);
    const wanda = await allocatorByName('global', { score: 'wanda' }).allocate([A, B], 3 / 8);
    assert.deepEqual([wanda.get('A'), wanda.get('B')], [0.25, 0.5]);
    const magnitude = await allocatorByName('global').allocate([A, B], 3 / 8);
    assert.deepEqual([magnitude.get('A'), magnitude.get('B')], [0.75, 0]);
    assert.equal(allocatorByName('global', { score: 'wanda' }).needs.norms, true);
    assert.equal(allocatorByName('global').needs.norms, false);
  });
});

describe('owl', () => {
  /** A Llama-shaped block (hidden 8, 2 KV heads of 2, MLP 16): every score 1 unless outliers are planted. */
  function block(b: number, outliers: number): AllocationLayer[] {
    const shapes: [string, number, number][] = [['q', 8, 8], ['k', 4, 8], ['v', 4, 8], ['o', 8, 8], ['gate', 16, 8], ['up', 16, 8], ['down', 8, 16]];
    return shapes.map(([name, rows, cols]) => {
      const w = new Array<number>(rows * cols).fill(1);
      // Outliers in the block's first Linear: weights 100x the rest.
      if (name === 'q') for (let i = 0; i < outliers; i++) w[i * 3] = -100;
      return layer(`model.layers.${b}.${name}`, rows, cols, b, w, new Array(cols).fill(16));
    });
  }

  it('gives the block with many outliers the target - lambda, the other target + lambda', async () => {
    const layers = [...block(0, 0), ...block(1, 12)];
    assert.equal(outlierRatio(layers.slice(0, 7), 5), 0);
    assert.ok(outlierRatio(layers.slice(7), 5) > 0);
    const b = await allocatorByName('owl').allocate(layers, 0.5);
    for (const l of layers) assert.ok(Math.abs(b.get(l.name)! - (l.block === 1 ? 0.42 : 0.58)) < 1e-12, `${l.name}: ${b.get(l.name)}`);
    assertBudget(layers, b, 0.5, 'owl');
  });

  it('follows upstream normalisation: sparsity = target - (D\'_b - mean D\'), D\' in [0, 2 lambda]', async () => {
    const layers = [...block(0, 0), ...block(1, 4), ...block(2, 12), ...block(3, 0)];
    const ratios = [0, 1, 2, 3].map((i) => outlierRatio(layers.slice(7 * i, 7 * i + 7), 5));
    assert.ok(ratios[2] > ratios[1] && ratios[1] > ratios[0] && ratios[0] === ratios[3]);
    const lambda = 0.1;
    const scaled = ratios.map((r) => ((r - ratios[0]) / (ratios[2] - ratios[0])) * 2 * lambda);
    const mean = scaled.reduce((a, x) => a + x, 0) / 4;
    const b = await allocatorByName('owl', { lambda }).allocate(layers, 0.6);
    for (const l of layers) assert.ok(Math.abs(b.get(l.name)! - (0.6 - (scaled[l.block] - mean))) < 1e-12);
    assert.ok(Math.abs(blockSparsities(ratios, 0.6, lambda)[2] - (0.6 - 2 * lambda + mean)) < 1e-12);
  });

  it('clamps a negative sparsity to 0 and shifts the rest to keep the target', async () => {
    const layers = [...block(0, 0), ...block(1, 12)];
    // 0.05 +- 0.08: block 1 would be -0.03 -> 0; block 0 then carries it all: 0.1.
    const b = await allocatorByName('owl').allocate(layers, 0.05);
    for (const l of layers) assert.ok(Math.abs(b.get(l.name)! - (l.block === 1 ? 0 : 0.1)) < 1e-12, `${l.name}: ${b.get(l.name)}`);
  });

  it('gives the target everywhere when the blocks do not differ', async () => {
    const layers = [...block(0, 3), ...block(1, 3)];
    const b = await allocatorByName('owl').allocate(layers, 0.5);
    for (const l of layers) assert.ok(Math.abs(b.get(l.name)! - 0.5) < 1e-12);
  });

  it('needs calibration norms', async () => {
    await assert.rejects(allocatorByName('owl').allocate([layer('a', 2, 2, 0, [1, 2, 3, 4])], 0.5), /calibration norms/);
  });
});

describe('shiftToTarget', () => {
  it('shifts by one constant inside the bounds so the weighted mean is the target', () => {
    const layers = [layer('a', 1, 10, 0, new Array(10).fill(1)), layer('b', 1, 30, 0, new Array(30).fill(1)), layer('c', 1, 2, 0, [1, 1])];
    const s = shiftToTarget(layers, [0.9, 0.2, 0.4], 0.6);
    // c would exceed 1 - 1/2 and a 1 - 1/10: they clamp, b takes the rest.
    assert.equal(s[0], 0.9);
    assert.equal(s[2], 0.5);
    assert.ok(Math.abs(s[0] * 10 + s[1] * 30 + s[2] * 2 - 0.6 * 42) < 1e-9);
    assert.throws(() => shiftToTarget(layers, [0.5, 0.5, 0.5], 0.99), ArgumentError);
  });
});
