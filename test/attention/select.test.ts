/**
 * topKPositions against the definition (sort every candidate by score, ties to the earlier
 * position, take k, ascending) on random scores with many ties, NaN and unsorted candidates.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { topKIndices, topKPositions, unionSorted } from '../../src/attention/select.js';

function byDefinition(scores: ArrayLike<number>, candidates: readonly number[], k: number): number[] {
  const rank = (p: number) => (Number.isNaN(scores[p]) ? -Infinity : scores[p]);
  return [...candidates]
    .sort((a, b) => rank(b) - rank(a) || a - b)
    .slice(0, Math.max(0, k))
    .sort((a, b) => a - b);
}

describe('topKPositions', () => {
  it('equals sorting every candidate, for ties, NaN, unsorted candidates and any k', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(Number.NaN), fc.constant(-Infinity), fc.double({ noNaN: true, min: -5, max: 5 })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: -2, max: 70 }),
        fc.boolean(),
        (values, k, shuffle) => {
          const scores = Float64Array.from(values);
          const candidates = values.map((_, i) => i).filter((i) => i % 3 !== 1);
          if (shuffle) candidates.reverse();
          assert.deepEqual([...topKPositions(scores, candidates, k)], byDefinition(scores, candidates, k));
        },
      ),
      { numRuns: 400, seed: 11 },
    );
  });

  it('keeps the earliest of equal scores at the cut', () => {
    assert.deepEqual([...topKIndices([1, 2, 2, 2, 0], 2)], [1, 2]);
    assert.deepEqual([...topKIndices([5, 1, 5, 1, 5], 2)], [0, 2]);
  });
});

describe('unionSorted', () => {
  it('is the ascending set union of lists in any order, duplicates within and across lists', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 12 }), { maxLength: 5 }), (lists) => {
        const want = [...new Set(lists.flat())].sort((a, b) => a - b);
        assert.deepEqual([...unionSorted(...lists)], want);
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});
