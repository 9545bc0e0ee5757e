/**
 * DSnoT's swap rule on hand-made rows (worked out in the comments), and its invariants on random
 * layers: per-row counts and N:M groups unchanged, |e_r| never larger with onlyImproving.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArgumentError } from '../../src/core/errors.js';
import { methodByName } from '../../src/pruning/registry.js';
import { Dsnot } from '../../src/pruning/refine/dsnot.js';
import type { PatternSpec, PruneResult, PruneTarget } from '../../src/pruning/types.js';
import { Mask } from '../../src/sparse/mask.js';
import { syntheticLayer } from './synthetic-layer.js';

const ROW: PatternSpec = { kind: 'unstructured', group: 'row' };

/** One row of 8 weights, all 1, over a single token-equivalent: E[x] = mean, Var = variance. */
function handRow(mean: number[], variance: number[], kept: number[]): { target: PruneTarget; initial: PruneResult } {
  const weight = new Float32Array(8).fill(1);
  const target: PruneTarget = {
    name: 'hand.weight',
    rows: 1,
    cols: 8,
    weight,
    stats: { tokens: 1, sum: Float64Array.from(mean), sumSquares: Float64Array.from(mean, (m, j) => variance[j] + m * m), gram: null },
  };
  const mask = Mask.fromPredicate([1, 8], (i) => kept.includes(i));
  return { target, initial: { weight: mask.apply(weight), mask } };
}

function keptOf(r: PruneResult): number[] {
  return [...r.mask.toUint8Array().keys()].filter((i) => r.mask.get(i));
}

/** e_r = sum_j (W_rj - W'_rj) E[x_j] per row. */
function rowErrors(target: PruneTarget, weight: Float32Array): number[] {
  const { rows, cols, stats } = target;
  return Array.from({ length: rows }, (_, r) => {
    let e = 0;
    for (let j = 0; j < cols; j++) e += (target.weight[r * cols + j] - weight[r * cols + j]) * (stats!.sum[j] / stats!.tokens);
    return e;
  });
}

describe('DSnoT', () => {
  // Kept {3, 4, 5, 7}, pruned {0, 1, 2, 6}; with W = 1 every contribution W E[x] is the mean.
  const MEAN = [2, -1, 0.5, 3, -2, 1, -0.5, 4];
  const KEPT = [3, 4, 5, 7];

  it("upstream's rule: grow by W E[x] / Var, prune the lowest-Wanda weight of the opposite sign, overshooting allowed", () => {
    const { target, initial } = handRow(MEAN, new Array(8).fill(1), KEPT);
    // e = 2 - 1 + 0.5 - 0.5 = 1 > 0: grow the largest (col 0, +2), prune the only negative kept (col 4, -2): e = -3.
    // e < 0: grow the smallest (col 1, -1), prune the positive kept of lowest |W| ||X|| (col 5: sqrt(1 + 1)): e = -1.
    // e < 0: grow col 6 (-0.5), prune the next positive (col 3: sqrt(1 + 9) < col 7: sqrt(1 + 16)): e = 2.5.
    const r = new Dsnot({ onlyImproving: false, maxCycles: 3 }).refine(target, initial, ROW);
    assert.deepEqual(keptOf(r), [0, 1, 6, 7]);
    assert.equal(r.notes?.dsnotSwaps, 3);
    assert.ok(Math.abs(rowErrors(target, r.weight)[0] - 2.5) < 1e-12);
    // A fourth cycle would need a negative kept weight to prune: none is left, so the row stops.
    assert.deepEqual(keptOf(new Dsnot({ onlyImproving: false }).refine(target, initial, ROW)), [0, 1, 6, 7]);
  });

  it('onlyImproving stops at the first swap that would not shrink |e|; the threshold stops a row too', () => {
    const { target, initial } = handRow(MEAN, new Array(8).fill(1), KEPT);
    // The first swap takes e from 1 to -3: refused, nothing changes.
    assert.equal(new Dsnot().refine(target, initial, ROW).notes?.dsnotSwaps, 0);
    // Var(x_0) = 100 demotes col 0 (2 / 100) below col 2 (0.5 / 1); E[x_4] = -0.3:
    // grow col 2, prune col 4: e = 1 - 0.3 - 0.5 = 0.2, then no negative kept weight is left.
    const mean = MEAN.map((m, j) => (j === 4 ? -0.3 : m));
    const eased = handRow(mean, [100, 1, 1, 1, 1, 1, 1, 1], KEPT);
    const r = new Dsnot().refine(eased.target, eased.initial, ROW);
    assert.deepEqual(keptOf(r), [2, 3, 5, 7]);
    assert.ok(Math.abs(rowErrors(eased.target, r.weight)[0] - 0.2) < 1e-12);
    // With the threshold above |e| = 1 nothing moves.
    assert.equal(new Dsnot({ updateThreshold: 1 }).refine(eased.target, eased.initial, ROW).notes?.dsnotSwaps, 0);
  });

  it('`sequences` puts e on upstream\u2019s per-sequence scale for the threshold', () => {
    const mean = MEAN.map((m, j) => (j === 4 ? -0.3 : m));
    const eased = handRow(mean, [100, 1, 1, 1, 1, 1, 1, 1], KEPT);
    const variance = [100, 1, 1, 1, 1, 1, 1, 1];
    const stats = { tokens: 10, sum: Float64Array.from(mean, (m) => 10 * m), sumSquares: Float64Array.from(mean, (m, j) => 10 * (variance[j] + m * m)), gram: null };
    const scaled = { ...eased.target, stats };
    // Same E[x] and Var over 10 tokens; as 1 sequence of 10 tokens, e = 10 > 5; per token e = 1 < 5.
    assert.equal(new Dsnot({ updateThreshold: 5 }).refine(scaled, eased.initial, ROW).notes?.dsnotSwaps, 0);
    assert.equal(new Dsnot({ updateThreshold: 5, sequences: 1 }).refine(scaled, eased.initial, ROW).notes?.dsnotSwaps, 1);
  });

  it('keeps per-row counts and N:M groups, never raises |e_r| with onlyImproving (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom<PatternSpec>(ROW, { kind: 'unstructured', group: 'layer' }, { kind: 'nm', n: 2, m: 4 }, { kind: 'nm', n: 1, m: 4 }, { kind: 'nm', n: 4, m: 8 }),
        fc.constantFrom(0.3, 0.5, 0.7),
        fc.constantFrom('wanda', 'magnitude'),
        (seed, pattern, s, method) => {
          const layer = syntheticLayer(seed, { rows: 6, cols: 32, tokens: 48, meanScale: 2 });
          const sparsity = pattern.kind === 'nm' ? 1 - pattern.n / pattern.m : s;
          const initial = methodByName(method).prune(layer.target, sparsity, pattern);
          for (const onlyImproving of [true, false]) {
            const r = new Dsnot({ onlyImproving, updateThreshold: 0.01 }).refine(layer.target, initial, pattern);
            const before = initial.mask.toUint8Array();
            const after = r.mask.toUint8Array();
            const width = pattern.kind === 'nm' ? pattern.m : 32;
            for (let g = 0; g < after.length; g += width) {
              assert.equal(after.subarray(g, g + width).reduce((a, b) => a + b, 0), before.subarray(g, g + width).reduce((a, b) => a + b, 0));
            }
            assert.deepEqual(r.weight, r.mask.apply(layer.target.weight));
            if (onlyImproving) {
              const e0 = rowErrors(layer.target, initial.weight);
              rowErrors(layer.target, r.weight).forEach((e, row) => assert.ok(Math.abs(e) <= Math.abs(e0[row]) + 1e-9, `row ${row}: |e| ${Math.abs(e0[row])} -> ${Math.abs(e)}`));
            }
          }
        },
      ),
      { seed: 0xd5a07, numRuns: 40 },
    );
  });

  it('rejects block patterns, missing statistics and bad options', () => {
    const { target, initial } = handRow(MEAN, new Array(8).fill(1), KEPT);
    assert.throws(() => new Dsnot().refine(target, initial, { kind: 'block', rows: 1, cols: 2 }), /not 1x2 blocks/);
    assert.throws(() => new Dsnot().refine({ ...target, stats: null }, initial, ROW), /means and variances/);
    assert.throws(() => new Dsnot({ maxCycles: -1 }), ArgumentError);
    assert.throws(() => new Dsnot({ updateThreshold: -1 }), ArgumentError);
    assert.throws(() => new Dsnot({ sequences: 0 }), ArgumentError);
  });
});
