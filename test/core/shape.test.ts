import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShapeError } from '../../src/core/errors.js';
import { broadcastShapes, broadcastStrides, normalizeAxis, resolveReshape, sizeOf, stridesOf } from '../../src/core/shape.js';

describe('shape helpers', () => {
  it('sizes and strides', () => {
    assert.equal(sizeOf([]), 1);
    assert.equal(sizeOf([2, 0, 3]), 0);
    assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
  });

  it('broadcasts as NumPy does', () => {
    assert.deepEqual(broadcastShapes([3, 1, 5], [4, 1]), [3, 4, 5]);
    assert.deepEqual(broadcastShapes([], [2, 2]), [2, 2]);
    assert.deepEqual(broadcastStrides([3, 1, 5], [3, 4, 5]), [5, 0, 1]);
    assert.deepEqual(broadcastStrides([4, 1], [3, 4, 5]), [0, 1, 0]);
    assert.throws(() => broadcastShapes([2, 3], [3, 2]), ShapeError);
  });

  it('resolves -1 in reshape and rejects impossible targets', () => {
    assert.deepEqual(resolveReshape(24, [2, -1, 3]), [2, 4, 3]);
    assert.throws(() => resolveReshape(24, [5, -1]), /cannot reshape/);
    assert.throws(() => resolveReshape(24, [-1, -1]), /at most one -1/);
    assert.throws(() => resolveReshape(24, [4, 5]), ShapeError);
  });

  it('normalizes axes with clear errors', () => {
    assert.equal(normalizeAxis(-1, 3), 2);
    assert.throws(() => normalizeAxis(3, 3), /out of range/);
  });
});
