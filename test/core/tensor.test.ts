import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import * as ops from '../../src/core/ops.js';
import { keep, tidy } from '../../src/core/tensor.js';
import { cpuBackend } from '../helpers/cpu.js';

let cpu: CpuBackend;
before(async () => {
  cpu = await cpuBackend();
});

describe('Tensor', () => {
  it('round-trips values and dtypes', async () => {
    const t = ops.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'f32');
    assert.deepEqual(Array.from(await t.read()), [1, 2, 3, 4, 5, 6]);
    const b = ops.tensor([0, 2, 0], [3], 'bool');
    assert.deepEqual(Array.from(b.readSync()), [0, 1, 0]);
    const i = ops.tensor(new Int32Array([-1, 7]));
    assert.equal(i.dtype, 'i32');
  });

  it('rejects data that does not fill the shape', () => {
    assert.throws(() => ops.tensor([1, 2, 3], [2, 2]), ShapeError);
    assert.throws(() => ops.tensor([1], [-1]), ShapeError);
  });

  it('reshape shares storage and frees it only with the last view', () => {
    const before = cpu.heap.bytesInUse;
    const t = ops.tensor([1, 2, 3, 4], [4]);
    const r = t.reshape([2, -1]);
    assert.deepEqual(r.shape, [2, 2]);
    t.dispose();
    assert.deepEqual(Array.from(r.readSync()), [1, 2, 3, 4]);
    r.dispose();
    assert.equal(cpu.heap.bytesInUse, before);
    assert.throws(() => r.readSync(), /after dispose/);
  });

  it('tidy disposes intermediates and keeps what is returned or kept', () => {
    const before = cpu.heap.bytesInUse;
    let kept: ReturnType<typeof ops.zeros> | undefined;
    const out = tidy(() => {
      const a = ops.ones([8]);
      const b = ops.add(a, a);
      kept = keep(ops.mul(b, 3));
      return ops.sum(b);
    });
    assert.deepEqual(Array.from(out.readSync()), [16]);
    assert.deepEqual(Array.from(kept!.readSync()), new Array(8).fill(6));
    out.dispose();
    kept!.dispose();
    assert.equal(cpu.heap.bytesInUse, before);
  });

  it('checks arguments before any backend work', () => {
    const a = ops.zeros([2, 3]);
    const b = ops.zeros([4, 5]);
    assert.throws(() => ops.matmul(a, b), /inner dims differ/);
    assert.throws(() => ops.add(a, b), /do not broadcast/);
    assert.throws(() => ops.add(a, ops.zeros([3], 'i32')), ArgumentError);
    assert.throws(() => ops.softmax(a, 2), /out of range/);
    assert.throws(() => ops.topk(a, 4), /k=4/);
    assert.throws(() => ops.gather(a, ops.tensor(new Int32Array([0, 2]))), /index 2/);
    assert.throws(() => ops.rmsNorm(a, ops.ones([2])), /weight must be \[3\]/);
    assert.throws(() => ops.transpose(a, [0, 0]), /not a permutation/);
    assert.throws(() => ops.slice(a, [0, 1], [2, 5]), /invalid/);
  });
});
