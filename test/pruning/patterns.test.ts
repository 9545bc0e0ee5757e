/**
 * Patterns: exact sparsity, the right weights (the lowest scores) and the one tie rule (the lower
 * index is pruned first), checked against a plain stable-sort reference on random scores that tie
 * often (small integers) and on hand-made cases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { BlockPattern } from '../../src/pruning/patterns/block.js';
import { NmPattern } from '../../src/pruning/patterns/nm.js';
import { UnstructuredPattern } from '../../src/pruning/patterns/unstructured.js';
import type { Mask } from '../../src/sparse/mask.js';

const FC = { seed: 0x9a77e2, numRuns: 80 } as const;

/** Scores that tie a lot: integers 0..levels-1, or with levels = 0 normal floats. */
function scoresOf(length: number, seed: number, levels: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length }, () => (levels > 0 ? rng.int(levels) : rng.normal()));
}

/** Reference: indices start..start+count-1 stably sorted by score, the first k pruned. */
function stableLowest(scores: Float32Array | Float64Array, indices: number[], k: number): Set<number> {
  return new Set([...indices].sort((a, b) => scores[a] - scores[b] || a - b).slice(0, k));
}

function pruned(mask: Mask): Set<number> {
  const bits = mask.toUint8Array();
  return new Set([...bits.keys()].filter((i) => bits[i] === 0));
}

const range = (start: number, count: number) => Array.from({ length: count }, (_, i) => start + i);

describe('unstructured pattern', () => {
  it('prunes exactly round(sparsity * cols) per row: the stable-sort lowest (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.integer(), fc.constantFrom(0, 2, 5), (rows, cols, s, seed, levels) => {
        const scores = scoresOf(rows * cols, seed, levels);
        const mask = new UnstructuredPattern('row').select(scores, rows, cols, s);
        const k = Math.round(s * cols);
        const want = new Set<number>();
        for (let r = 0; r < rows; r++) for (const i of stableLowest(scores, range(r * cols, cols), k)) want.add(i);
        assert.deepEqual(pruned(mask), want);
        assert.equal(mask.count(), rows * (cols - k));
      }),
      FC,
    );
  });

  it('prunes exactly round(sparsity * rows * cols) over the layer with group layer (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.integer(), fc.constantFrom(0, 3), (rows, cols, s, seed, levels) => {
        const scores = scoresOf(rows * cols, seed, levels);
        const mask = new UnstructuredPattern('layer').select(scores, rows, cols, s);
        assert.deepEqual(pruned(mask), stableLowest(scores, range(0, rows * cols), Math.round(s * rows * cols)));
      }),
      FC,
    );
  });

  it('breaks ties by pruning the lower index first, and treats -0 and +0 as equal', () => {
    const scores = Float32Array.from([1, 0, -0, 0, 1, 0, 2, 0]);
    const mask = new UnstructuredPattern('row').select(scores, 1, 8, 0.25);
    assert.deepEqual([...pruned(mask)], [1, 2]);
    assert.deepEqual([...pruned(new UnstructuredPattern('row').select(new Float32Array(6).fill(3), 2, 3, 0.34))], [0, 3]);
  });

  it('hits the sparsity where floor would not: 0.29 of 100 columns is 29, not 28', () => {
    const mask = new UnstructuredPattern('row').select(scoresOf(100, 1, 0), 1, 100, 0.29);
    assert.equal(100 - mask.count(), 29);
  });

  it('rejects sparsities outside [0, 1), NaN scores and wrong lengths', () => {
    const p = new UnstructuredPattern('row');
    for (const s of [1, -0.1, NaN, 1.5]) assert.throws(() => p.select(new Float32Array(4), 2, 2, s), ArgumentError);
    assert.throws(() => p.select(Float32Array.from([0, NaN, 1, 2]), 2, 2, 0.5), /NaN/);
    assert.throws(() => p.select(new Float32Array(5), 2, 2, 0.5), ArgumentError);
    assert.equal(p.select(new Float32Array(4), 2, 2, 0).count(), 4);
  });
});

describe('N:M pattern', () => {
  it('keeps exactly N of every M consecutive weights: the N highest, ties pruning the lower index (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<[number, number]>([1, 2], [2, 4], [1, 4], [3, 4], [4, 8], [2, 8], [5, 16]),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        fc.constantFrom(0, 2, 4),
        ([n, m], rows, groups, seed, levels) => {
          const cols = groups * m;
          const scores = scoresOf(rows * cols, seed, levels);
          const mask = new NmPattern(n, m).select(scores, rows, cols, 1 - n / m);
          const want = new Set<number>();
          for (let g = 0; g < rows * groups; g++) for (const i of stableLowest(scores, range(g * m, m), m - n)) want.add(i);
          assert.deepEqual(pruned(mask), want);
          const bits = mask.toUint8Array();
          for (let g = 0; g < rows * groups; g++) assert.equal(bits.subarray(g * m, g * m + m).reduce((a, b) => a + b, 0), n);
        },
      ),
      FC,
    );
  });

  it('needs cols % M == 0 and the sparsity 1 - N/M; N >= M is rejected', () => {
    const p = new NmPattern(2, 4);
    assert.throws(() => p.select(new Float32Array(6), 1, 6, 0.5), /not divisible by M = 4/);
    assert.throws(() => p.select(new Float32Array(8), 1, 8, 0.6), /fixed at 1 - 2\/4/);
    assert.equal(p.select(new Float32Array(8), 1, 8, 0.5).count(), 4);
    assert.throws(() => new NmPattern(4, 4), ArgumentError);
    assert.throws(() => new NmPattern(5, 4), ArgumentError);
  });
});

describe('block pattern', () => {
  it('prunes exactly round(sparsity * blocks) whole blocks, the lowest score sums (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.integer(),
        fc.constantFrom(0, 2),
        (r, c, blockRows, blockCols, s, seed, levels) => {
          const rows = r * blockRows;
          const cols = c * blockCols;
          const scores = scoresOf(rows * cols, seed, levels);
          const mask = new BlockPattern(r, c).select(scores, rows, cols, s);
          const blocks = blockRows * blockCols;
          const sums = new Float64Array(blocks);
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) sums[Math.floor(i / r) * blockCols + Math.floor(j / c)] += scores[i * cols + j];
          const gone = stableLowest(sums, range(0, blocks), Math.round(s * blocks));
          const bits = mask.toUint8Array();
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++) {
              const b = Math.floor(i / r) * blockCols + Math.floor(j / c);
              assert.equal(bits[i * cols + j], gone.has(b) ? 0 : 1, `weight (${i}, ${j}) of block ${b}`);
            }
          }
          assert.equal(mask.count(), (blocks - gone.size) * r * c);
        },
      ),
      { ...FC, numRuns: 60 },
    );
  });

  it('ranks blocks by the sum of their scores', () => {
    // 2x2 blocks of a 2 x 6 weight: sums 4 (one large score), 3.2 (four moderate ones), 10.
    const scores = Float32Array.from([4, 0, 0.8, 0.8, 5, 5, 0, 0, 0.8, 0.8, 0, 0]);
    assert.deepEqual([...pruned(new BlockPattern(2, 2).select(scores, 2, 6, 0.34))], [2, 3, 8, 9]);
  });

  it('needs rows % r == 0 and cols % c == 0', () => {
    assert.throws(() => new BlockPattern(2, 2).select(new Float32Array(12), 3, 4, 0.5), /does not tile into 2x2 blocks/);
    assert.throws(() => new BlockPattern(2, 3).select(new Float32Array(8), 2, 4, 0.5), /cols % 3 = 1/);
    assert.throws(() => new BlockPattern(0, 2), ArgumentError);
  });
});
