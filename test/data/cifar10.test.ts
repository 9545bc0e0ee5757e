import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CIFAR10_CLASS_NAMES, parseCifar10 } from '../../src/data/cifar10.js';
import { assertDataError, cifarRecord, concatBytes } from './helpers.js';

// Each pixel byte says where it came from: channel c, row-major index i.
const pixel = (salt: number) => (c: number, i: number) => (salt + 80 * c + i) % 256;

describe('parseCifar10', () => {
  it('keeps labels and channel-major pixels scaled to [0, 1]', () => {
    const dataset = parseCifar10(concatBytes(cifarRecord(3, pixel(0)), cifarRecord(9, pixel(7))));
    assert.deepEqual(dataset.shape, [3, 32, 32]);
    assert.equal(dataset.classes, 10);
    assert.deepEqual([...dataset.labels], [3, 9]);
    assert.equal(dataset.inputs.length, 2 * 3072);
    for (const [example, salt] of [[0, 0], [1, 7]]) {
      for (const [c, i] of [[0, 0], [0, 1023], [1, 0], [1, 33], [2, 1023]]) {
        assert.equal(dataset.inputs[example * 3072 + c * 1024 + i], Math.fround(pixel(salt)(c, i) / 255), `example ${example} channel ${c} pixel ${i}`);
      }
    }
  });

  it('concatenates batches in the order given', () => {
    const first = cifarRecord(1, () => 255);
    const second = concatBytes(cifarRecord(2, () => 0), cifarRecord(0, () => 51));
    const dataset = parseCifar10([first, { bytes: second, source: 'test_batch.bin' }]);
    assert.deepEqual([...dataset.labels], [1, 2, 0]);
    assert.equal(dataset.inputs[0], 1);
    assert.equal(dataset.inputs[3072 + 5], 0);
    assert.equal(dataset.inputs[2 * 3072 + 3071], Math.fround(0.2));
  });

  it('names the ten classes', () => {
    assert.equal(CIFAR10_CLASS_NAMES.length, 10);
    assert.equal(CIFAR10_CLASS_NAMES[3], 'cat');
  });

  it('refuses malformed batches, naming the batch', async () => {
    const good = cifarRecord(0, pixel(1));
    await assertDataError(() => parseCifar10([good, good.subarray(0, 3000)]), 'CIFAR-10 batch 1', /length 3000 is not a multiple of the 3073-byte/);
    await assertDataError(() => parseCifar10({ bytes: concatBytes(good, Uint8Array.of(0)), source: 'data_batch_2.bin' }), 'data_batch_2.bin', /length 3074 .*\(1 whole record\(s\) and 1 byte\(s\) more\)/);
    await assertDataError(() => parseCifar10(concatBytes(good, cifarRecord(10, pixel(2)))), 'CIFAR-10 batch 0', /record 1 \(byte offset 3073\) has label 10/);
    await assertDataError(() => parseCifar10(new Uint8Array(0)), 'CIFAR-10 batch 0', /is empty/);
    await assertDataError(() => parseCifar10([]), 'CIFAR-10', /no batches/);
  });
});
