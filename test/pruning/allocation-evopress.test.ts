/**
 * EvoPress against a synthetic objective with a known optimum: a fake AllocationContext scores a
 * budget by its squared distance (parameter-weighted) from a feasible target configuration,
 * plus noise that shrinks with the number of tokens, as a KL estimate would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { EvoPressAllocator } from '../../src/pruning/allocation/evopress.js';
import type { AllocationContext, AllocationLayer } from '../../src/pruning/types.js';

const TARGET = 0.5;
const LEVELS = [-3, -2, -1, 0, 1, 2, 3].map((k) => TARGET + k * 0.1);

/** 4 blocks of attn 8x8 (64), up 16x8 (128), down 8x16 (128): two size classes. */
function layers(): AllocationLayer[] {
  const out: AllocationLayer[] = [];
  for (let b = 0; b < 4; b++) {
    for (const [name, rows, cols] of [['attn', 8, 8], ['up', 16, 8], ['down', 8, 16]] as const) {
      out.push({ name: `b${b}.${name}`, rows, cols, block: b, weight: new Float32Array(rows * cols), stats: null });
    }
  }
  return out;
}

/** Level offsets (in steps) of the optimum; each size class sums to zero, so it is on budget. */
const OPTIMUM: Record<string, number> = {
  'b0.attn': -3, 'b1.attn': 0, 'b2.attn': 3, 'b3.attn': 0,
  'b0.up': 3, 'b0.down': 3, 'b1.up': -3, 'b1.down': -3, 'b2.up': 0, 'b2.down': 0, 'b3.up': 1, 'b3.down': -1,
};

function objective(all: readonly AllocationLayer[], s: ReadonlyMap<string, number>): number {
  let f = 0;
  for (const l of all) {
    const d = s.get(l.name)! - (TARGET + OPTIMUM[l.name] * 0.1);
    f += (l.rows * l.cols * d * d) / 128;
  }
  return f;
}

function fakeContext(all: readonly AllocationLayer[], calls: { tokens: number }[]): AllocationContext {
  return {
    levels: LEVELS,
    tokens: 4096,
    seed: 11,
    evaluate: async (s, tokens) => {
      calls.push({ tokens });
      // Noise fixed per (budget, tokens), falling as 1/sqrt(tokens).
      let h = tokens;
      for (const v of s.values()) h = (Math.imul(h, 31) + Math.round(v * 1000)) | 0;
      return objective(all, s) + (0.01 * new Random(h).normal()) / Math.sqrt(tokens / 256);
    },
  };
}

describe('evopress', () => {
  it('finds the known optimum of a synthetic objective, far better than uniform, on an exact budget', async () => {
    const all = layers();
    const calls: { tokens: number }[] = [];
    const evo = new EvoPressAllocator({ generations: 60, offspring: 16, survivorsPerSelection: [4, 2, 1] });
    const budgets = await evo.allocate(all, TARGET, fakeContext(all, calls));
    const uniform = new Map(all.map((l) => [l.name, TARGET]));
    const found = objective(all, budgets);
    assert.ok(objective(all, uniform) > 0.4, 'uniform is far from the optimum');
    assert.ok(found < 1e-9, `objective ${found}; budgets ${[...budgets].map(([n, v]) => `${n}=${v.toFixed(2)}`).join(' ')}`);
    // Exact budget: every layer on a level, parameter-weighted mean the target.
    let pruned = 0;
    let total = 0;
    for (const l of all) {
      const s = budgets.get(l.name)!;
      assert.ok(LEVELS.includes(s), `${l.name} at a level`);
      pruned += s * l.rows * l.cols;
      total += l.rows * l.cols;
    }
    assert.ok(Math.abs(pruned - TARGET * total) < 1e-9, `${pruned} vs ${TARGET * total}`);
    // Multi-step selection: 16 children on 256 tokens, 4 on 1024, 2 + the parent on 4096.
    assert.deepEqual(calls.slice(0, 23).map((c) => c.tokens), [...new Array(16).fill(256), ...new Array(4).fill(1024), ...new Array(3).fill(4096)]);
    assert.equal(calls.length, 60 * 23);
  });

  it('is deterministic per seed and keeps flips inside size classes', async () => {
    const all = layers();
    const run = async () => new EvoPressAllocator({ generations: 5, offspring: 6 }).allocate(all, TARGET, fakeContext(all, []));
    const [a, b] = [await run(), await run()];
    assert.deepEqual([...a], [...b]);
    // Per size class the level offsets still sum to zero.
    for (const cls of [['attn'], ['up', 'down']]) {
      const sum = all.filter((l) => cls.some((c) => l.name.endsWith(c))).reduce((s, l) => s + (a.get(l.name)! - TARGET), 0);
      assert.ok(Math.abs(sum) < 1e-9, `class ${cls}: ${sum}`);
    }
  });

  it('leaves a layer with no peer of its size at the target', async () => {
    const all = [...layers(), { name: 'odd', rows: 3, cols: 5, block: 9, weight: new Float32Array(15), stats: null }];
    const context = { ...fakeContext(layers(), []), evaluate: async (s: ReadonlyMap<string, number>) => -Math.abs(s.get('b0.attn')! - TARGET) };
    const b = await new EvoPressAllocator({ generations: 4, offspring: 4 }).allocate(all, TARGET, context);
    assert.equal(b.get('odd'), TARGET);
  });

  it('rejects a missing context, a target off the levels, uneven levels and bad schedules', async () => {
    const all = layers();
    const evo = new EvoPressAllocator({ generations: 1 });
    await assert.rejects(evo.allocate(all, TARGET), /AllocationContext/);
    await assert.rejects(evo.allocate(all, 0.55, fakeContext(all, [])), /not one of the levels/);
    await assert.rejects(evo.allocate(all, TARGET, { ...fakeContext(all, []), levels: [0.3, 0.5, 0.8] }), /evenly spaced/);
    assert.throws(() => new EvoPressAllocator({ survivorsPerSelection: [4, 2] }), ArgumentError);
    assert.throws(() => new EvoPressAllocator({ survivorsPerSelection: [2, 4, 1] }), ArgumentError);
    assert.throws(() => new EvoPressAllocator({ survivorsPerSelection: [4, 1], tokensPerSelection: [1000, 10] }), ArgumentError);
    assert.throws(() => new EvoPressAllocator({ survivorsPerSelection: [4, 1], tokensPerSelection: [10] }), ArgumentError);
  });
});
