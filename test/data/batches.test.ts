import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArgumentError } from '../../src/core/errors.js';
import { batchesPerEpoch, miniBatches, type ClassificationBatch } from '../../src/data/batches.js';
import type { ClassificationDataset } from '../../src/data/dataset.js';

/** N examples whose row i is [i, -i] and label i % 3, so a batch shows which rows it copied. */
function indexDataset(n: number): ClassificationDataset {
  const inputs = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) [inputs[2 * i], inputs[2 * i + 1]] = [i, -i];
  return { inputs, labels: Int32Array.from({ length: n }, (_, i) => i % 3), classes: 3, shape: [2] };
}

function assertRowsMatch(batch: ClassificationBatch): void {
  assert.equal(batch.inputs.length, 2 * batch.size);
  for (let b = 0; b < batch.size; b++) {
    const row = batch.indices[b];
    assert.deepEqual([batch.inputs[2 * b], batch.inputs[2 * b + 1]], [row, -row]);
    assert.equal(batch.labels[b], row % 3);
  }
}

const epochOrders = (batches: ClassificationBatch[], epochs: number) =>
  Array.from({ length: epochs }, (_, e) => batches.filter((b) => b.epoch === e).flatMap((b) => [...b.indices]));

describe('miniBatches', () => {
  it('visits every example exactly once per epoch, in a fresh shuffled order', () => {
    const batches = [...miniBatches(indexDataset(10), { batchSize: 3, epochs: 3, seed: 1 })];
    assert.deepEqual(batches.map((b) => b.size), [3, 3, 3, 1, 3, 3, 3, 1, 3, 3, 3, 1]);
    assert.deepEqual(batches.map((b) => b.step), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    batches.forEach(assertRowsMatch);
    const orders = epochOrders(batches, 3);
    for (const order of orders) assert.deepEqual([...order].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(orders[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(orders[0], orders[1]);
  });

  it('is seeded', () => {
    const order = (seed: number) => [...miniBatches(indexDataset(20), { batchSize: 4, epochs: 2, seed })].flatMap((b) => [...b.indices]);
    assert.deepEqual(order(7), order(7));
    assert.notDeepEqual(order(7), order(8));
  });

  it('drops the short last batch when asked', () => {
    const batches = [...miniBatches(indexDataset(10), { batchSize: 3, seed: 1, dropLast: true })];
    assert.deepEqual(batches.map((b) => b.size), [3, 3, 3]);
    assert.equal(new Set(batches.flatMap((b) => [...b.indices])).size, 9);
  });

  it('keeps dataset order without shuffling', () => {
    const batches = [...miniBatches(indexDataset(5), { batchSize: 2, shuffle: false })];
    assert.deepEqual(batches.map((b) => [...b.indices]), [[0, 1], [2, 3], [4]]);
    batches.forEach(assertRowsMatch);
  });

  it('refuses bad options', () => {
    assert.throws(() => miniBatches(indexDataset(5), { batchSize: 0, seed: 1 }), ArgumentError, 'at the call, before iterating');
    assert.throws(() => [...miniBatches(indexDataset(5), { batchSize: 2, epochs: -1, seed: 1 })], ArgumentError);
    // A JavaScript caller can leave the seed out; the types cannot stop it.
    assert.throws(() => [...miniBatches(indexDataset(5), { batchSize: 2 } as unknown as { batchSize: number; seed: number })], /seed is required/);
    const broken = { ...indexDataset(5), inputs: new Float32Array(9) };
    assert.throws(() => [...miniBatches(broken, { batchSize: 2, seed: 1 })], ArgumentError);
  });

  it('covers each example once per epoch for any size, batch size and seed (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), fc.integer(), (n, batchSize, dropLast, seed) => {
        const batches = [...miniBatches(indexDataset(n), { batchSize, epochs: 2, seed, dropLast })];
        assert.equal(batches.length, 2 * batchesPerEpoch(n, batchSize, dropLast));
        batches.forEach(assertRowsMatch);
        for (const order of epochOrders(batches, 2)) {
          const kept = dropLast ? batchSize * Math.floor(n / batchSize) : n;
          assert.equal(order.length, kept);
          assert.equal(new Set(order).size, kept, 'no example twice');
          assert.ok(order.every((i) => i >= 0 && i < n));
        }
      }),
      { numRuns: 200 },
    );
  });
});
