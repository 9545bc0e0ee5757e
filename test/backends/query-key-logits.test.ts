/**
 * queryKeyLogits (one query's dot products with the cached keys, per head: what query-aware KV
 * policies vote with) against its plain reference on random inputs, in both builds and with one
 * and three threads: awkward head dims and lengths, grouped heads, a length below the capacity.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';


import { queryKeyLogitsReference } from '../../src/backends/cpu/reference/attention.js';
import { SparsekitError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { relativeError } from '../helpers/numeric.js';
import { randomArray } from '../helpers/random.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';

const TOLERANCE = 1e-5;

describeKernelBuilds('queryKeyLogits', (cpu) => {
  it('matches the reference for grouped heads, awkward sizes and a partly filled cache', () => {
    const cases: [number, number, number, number, number][] = [
      // heads, kvHeads, D, capacity, length
      [1, 1, 1, 1, 1],
      [4, 4, 64, 300, 257],
      [6, 3, 5, 40, 37],
      [8, 2, 128, 2100, 2049],
      [12, 4, 64, 130, 3],
      [2, 1, 7, 9, 0],
    ];
    let seed = 1;
    for (const [heads, kvHeads, D, capacity, length] of cases) {
      const qData = randomArray(heads * D, seed++);
      const kData = randomArray(capacity * kvHeads * D, seed++);
      const out = cpu().queryKeyLogits(tensor(qData, [heads, D], 'f32', cpu()), tensor(kData, [capacity, kvHeads, D], 'f32', cpu()), length);
      assert.deepEqual(out.shape, [heads, length]);
      const want = new Float32Array(heads * length);
      queryKeyLogitsReference(qData, kData, heads, kvHeads, D, length, want);
      const got = out.readSync() as Float32Array;
      if (length > 0) {
        const err = relativeError(got, want);
        assert.ok(err <= TOLERANCE, `heads ${heads}/${kvHeads}, D ${D}, length ${length}: relative error ${err}`);
      }
      out.dispose();
    }
  });

  it('rejects mismatched shapes and a length past the capacity, naming them', () => {
    const q = tensor(randomArray(4 * 8, 1), [4, 8], 'f32', cpu());
    const k = tensor(randomArray(10 * 2 * 8, 2), [10, 2, 8], 'f32', cpu());
    assert.throws(() => cpu().queryKeyLogits(q, k, 11), (e: unknown) => e instanceof SparsekitError && /length 11/.test(e.message));
    const k3 = tensor(randomArray(10 * 3 * 8, 3), [10, 3, 8], 'f32', cpu());
    assert.throws(() => cpu().queryKeyLogits(q, k3, 5), (e: unknown) => e instanceof SparsekitError && /multiple of kvHeads/.test(e.message));
  });
});
