/** The tape itself: accumulation, shared subexpressions, no-grad mode, graph freeing, errors. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { tensor } from '../../src/core/ops.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const vec = (values: number[]) => tensor(Float32Array.from(values), [values.length]);
const read = (v: ag.Variable | { readSync(): unknown }) => Array.from(('value' in v ? v.value : v).readSync() as Float32Array);

describe('autograd tape', () => {
  it('sums the gradients of a value used twice (y = x * x + x)', () => {
    const x = ag.parameter(vec([1, -2, 3]));
    ag.backward(ag.sumAll(ag.add(ag.mul(x, x), x)));
    assert.deepEqual(read(x.grad!), [3, -3, 7]); // 2x + 1
  });

  it('accumulates across backward calls until zeroGrad', () => {
    const x = ag.parameter(vec([1, 2]));
    const w = ag.parameter(vec([3, 4]));
    for (let i = 0; i < 2; i++) ag.backward(ag.sumAll(ag.mul(w, x)));
    assert.deepEqual(read(w.grad!), [2, 4]);
    assert.deepEqual(read(x.grad!), [6, 8]);
    ag.zeroGrad([w, x]);
    assert.equal(w.grad, null);
    ag.backward(ag.sumAll(ag.mul(w, x)));
    assert.deepEqual(read(w.grad!), [1, 2]);
  });

  it('gives constants no gradient and records nothing under noGrad', () => {
    const x = ag.constant(vec([1, 2]));
    const w = ag.parameter(vec([3, 4]));
    const y = ag.mul(w, x);
    assert.ok(y.requiresGrad && y.inputs.length === 2);
    const z = ag.noGrad(() => ag.mul(w, x));
    assert.ok(!z.requiresGrad && z.isLeaf);
    assert.throws(() => ag.backward(ag.sumAll(ag.mul(x, x))), /does not depend on any parameter/);
    ag.backward(ag.sumAll(y));
    assert.equal(x.grad, null);
  });

  it('frees intermediate values after backward unless retainGraph, never the root or leaves', () => {
    const w = ag.parameter(vec([0.5, -1]));
    const hidden = ag.exp(w);
    const loss = ag.sumAll(ag.square(hidden));
    ag.backward(loss, { retainGraph: true });
    assert.ok(!hidden.value.disposed);
    ag.backward(loss);
    assert.ok(hidden.value.disposed, 'the intermediate was freed');
    assert.ok(!loss.value.disposed && !w.value.disposed);
    // d/dw sum(exp(w)^2) = 2 exp(2w), twice.
    read(w.grad!).forEach((g, i) => assert.ok(Math.abs(g - 4 * Math.exp(2 * [0.5, -1][i])) < 1e-4));
  });

  it('needs a seed for a non-scalar result, of the result\'s shape', () => {
    const w = ag.parameter(vec([1, 2, 3]));
    const y = ag.scale(w, 2);
    assert.throws(() => ag.backward(y), /reduce it to a scalar/);
    assert.throws(() => ag.backward(y, { seed: vec([1, 1]) }), /seed shape \[2\] differs/);
    ag.backward(y, { seed: vec([1, 0, -1]) });
    assert.deepEqual(read(w.grad!), [2, 0, -2]);
  });

  it('walks a long chain without recursion (10,000 ops)', () => {
    const w = ag.parameter(vec([1]));
    let y = w;
    for (let i = 0; i < 10_000; i++) y = ag.addScalar(y, 0);
    ag.backward(ag.sumAll(y));
    assert.deepEqual(read(w.grad!), [1]);
  });
});
