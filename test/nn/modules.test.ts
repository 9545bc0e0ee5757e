/** Conv2d, RMSNorm, LayerNorm and Embedding modules: initialisation, forward against the ops, parameter names. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { ArgumentError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { Conv2d, Embedding, LayerNorm, Mlp, RMSNorm } from '../../src/nn/index.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const input = (shape: number[]) => ag.constant(tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1)), shape));

describe('nn modules', () => {
  it('Conv2d: PyTorch-style seeded uniform init in +-1/sqrt(C kh kw), forward = conv2d', () => {
    const conv = new Conv2d(3, 5, { kernel: [3, 2], padding: 1, stride: 2, seed: 7 });
    const w = conv.weight.value.readSync() as Float32Array;
    const bound = 1 / Math.sqrt(3 * 3 * 2);
    assert.deepEqual(conv.weight.shape, [5, 3, 3, 2]);
    assert.ok(w.every((v) => Math.abs(v) <= bound) && Math.max(...w.map(Math.abs)) > 0.8 * bound);
    assert.deepEqual([...(new Conv2d(3, 5, { kernel: [3, 2], seed: 7 }).weight.value.readSync() as Float32Array)], [...w]);
    assert.deepEqual([...conv.parameters().keys()], ['weight', 'bias']);
    const x = input([2, 3, 6, 5]);
    const want = ag.conv2d(x, conv.weight, conv.bias, { stride: 2, padding: 1 }).value.readSync();
    assert.deepEqual([...conv.forward(x).value.readSync()], [...want]);
    assert.equal(new Conv2d(1, 2, { kernel: 3, bias: false, seed: 1 }).bias, null);
    assert.throws(() => new Conv2d(0, 2, { kernel: 3, seed: 1 }), ArgumentError);
  });

  it('RMSNorm and LayerNorm start as plain normalisation and learn gains', () => {
    const x = input([4, 6]);
    const rms = new RMSNorm(6);
    assert.deepEqual([...rms.forward(x).value.readSync()], [...ag.rmsNorm(x, null, 1e-6).value.readSync()]);
    const rows = x.value.readSync() as Float32Array;
    const y = rms.forward(x).value.readSync() as Float32Array;
    const ms = rows.slice(0, 6).reduce((s, v) => s + v * v, 0) / 6;
    assert.ok(Math.abs(y[0] - rows[0] / Math.sqrt(ms + 1e-6)) < 1e-5);
    const ln = new LayerNorm(6);
    assert.deepEqual([...ln.parameters().keys()], ['weight', 'bias']);
    const z = ln.forward(x).value.readSync() as Float32Array;
    assert.ok(Math.abs(z.slice(0, 6).reduce((s, v) => s + v, 0)) < 1e-5, 'a normalised row has mean 0');
    assert.equal(new LayerNorm(6, { elementwiseAffine: false }).parameters().size, 0);
    assert.equal(new RMSNorm(6, { elementwiseAffine: false }).parameters().size, 0);
  });

  it('Embedding looks up rows of its seeded table', () => {
    const emb = new Embedding(5, 3, { seed: 4 });
    const table = emb.weight.value.readSync() as Float32Array;
    const y = emb.forward(tensor(Int32Array.from([4, 0]), [2], 'i32')).value.readSync();
    assert.deepEqual([...y], [...table.slice(12, 15), ...table.slice(0, 3)]);
    assert.throws(() => new Embedding(0, 3, { seed: 1 }), ArgumentError);
  });

  it('Mlp exposes its classifier shape', () => {
    const mlp = new Mlp([784, 32, 10], { seed: 1 });
    assert.deepEqual(mlp.inputShape, [784]);
    assert.equal(mlp.classes, 10);
  });
});
