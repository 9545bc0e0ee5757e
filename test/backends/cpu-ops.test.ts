/**
 * The ops that run their TypeScript reference on the CPU backend, checked against properties
 * and hand-computed values that do not share their code.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ops from '../../src/core/ops.js';
import type { Tensor } from '../../src/core/tensor.js';
import { ropeTables } from '../../src/core/rope.js';
import { cpuBackend } from '../helpers/cpu.js';
import { randomArray } from '../helpers/random.js';

const read = (t: Tensor) => Array.from(t.readSync() as ArrayLike<number>);
const close = (a: number[], b: number[], tol = 1e-6) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])));

before(async () => {
  await cpuBackend();
});

describe('CPU elementwise ops', () => {
  it('broadcast binary ops equal explicit loops', () => {
    const a = randomArray(3 * 1 * 5, 1);
    const b = randomArray(4 * 1, 2);
    const out = read(ops.sub(ops.tensor(a, [3, 1, 5]), ops.tensor(b, [4, 1])));
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) want.push(Math.fround(a[i * 5 + k] - b[j]));
    assert.deepEqual(out, want);
    assert.deepEqual(read(ops.add(ops.tensor(new Int32Array([1, 2, 3])), 10)), [11, 12, 13]);
    assert.deepEqual(read(ops.maximum(ops.tensor([1, -2, 3]), 0)), [1, 0, 3]);
  });

  it('unary ops and affine', () => {
    assert.ok(close(read(ops.exp(ops.tensor([0, 1, -1]))), [1, Math.E, 1 / Math.E]));
    assert.ok(close(read(ops.rsqrt(ops.tensor([4, 0.25]))), [0.5, 2]));
    assert.ok(close(read(ops.silu(ops.tensor([0, 1]))), [0, 0.7310585786300049]));
    assert.deepEqual(read(ops.affine(ops.tensor([1, 2]), 3, -1)), [2, 5]);
    assert.deepEqual(read(ops.cast(ops.tensor([1.7, -1.7, 0]), 'i32')), [1, -1, 0]);
    assert.deepEqual(read(ops.cast(ops.tensor([1.7, 0]), 'bool')), [1, 0]);
  });
});

describe('CPU normalisation ops', () => {
  it('softmax rows sum to 1 and are invariant to a shift; log-softmax is its log', () => {
    const x = ops.tensor(randomArray(6 * 9, 3, 5), [6, 9]);
    const p = read(ops.softmax(x));
    for (let r = 0; r < 6; r++) assert.ok(Math.abs(p.slice(r * 9, r * 9 + 9).reduce((s, v) => s + v, 0) - 1) < 1e-6);
    assert.ok(close(read(ops.softmax(ops.add(x, 1000))), p, 1e-5));
    assert.ok(close(read(ops.exp(ops.logSoftmax(x))), p, 1e-5));
    // Along a non-last axis the columns sum to 1.
    const q = read(ops.softmax(x, 0));
    for (let c = 0; c < 9; c++) assert.ok(Math.abs([0, 1, 2, 3, 4, 5].reduce((s, r) => s + q[r * 9 + c], 0) - 1) < 1e-6);
  });

  it('layerNorm gives mean 0 and variance 1; rmsNorm gives rms 1', () => {
    const d = 64;
    const x = ops.tensor(randomArray(3 * d, 4, 3), [3, d]);
    const y = read(ops.layerNorm(x, null, null, 0));
    const z = read(ops.rmsNorm(x, null, 0));
    for (let r = 0; r < 3; r++) {
      const row = y.slice(r * d, (r + 1) * d);
      const mean = row.reduce((s, v) => s + v, 0) / d;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / d;
      assert.ok(Math.abs(mean) < 1e-5 && Math.abs(variance - 1) < 1e-4);
      const rms = Math.sqrt(z.slice(r * d, (r + 1) * d).reduce((s, v) => s + v * v, 0) / d);
      assert.ok(Math.abs(rms - 1) < 1e-5);
    }
    const w = ops.tensor(randomArray(d, 5));
    const scaled = read(ops.rmsNorm(x, w, 0));
    const wv = read(w);
    assert.ok(close(scaled, z.map((v, i) => v * wv[i % d]), 1e-5));
  });

  it('rope is the identity at position 0, keeps pair norms, and matches rotation by hand', () => {
    const [T, D] = [5, 8];
    const { cos, sin } = ropeTables([0, 1, 2, 3, 4], { dim: D, theta: 10000 });
    const xData = randomArray(2 * T * D, 6);
    const x = ops.tensor(xData, [2, T, D]);
    for (const interleaved of [false, true]) {
      const y = read(ops.rope(x, cos, sin, interleaved));
      assert.ok(close(y.slice(0, D), Array.from(xData.slice(0, D))));
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < D / 2; i++) {
          const [p, q] = interleaved ? [t * D + 2 * i, t * D + 2 * i + 1] : [t * D + i, t * D + i + D / 2];
          const angle = t / Math.pow(10000, (2 * i) / D);
          const [x1, x2] = [xData[p], xData[q]];
          assert.ok(Math.abs(y[p] - (x1 * Math.cos(angle) - x2 * Math.sin(angle))) < 1e-5);
          assert.ok(Math.abs(y[q] - (x2 * Math.cos(angle) + x1 * Math.sin(angle))) < 1e-5);
        }
      }
    }
  });

  it('llama3 rope scaling divides low frequencies by the factor and keeps high ones', () => {
    const base = ropeTables([1], { dim: 128, theta: 500000 });
    const scaled = ropeTables([1], { dim: 128, theta: 500000, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } });
    const angle = (t: Tensor, tc: Tensor, i: number) => Math.atan2(read(t)[i], read(tc)[i]);
    // Highest frequency (i = 0): wavelength 2 pi < 8192 / 4, unchanged.
    assert.ok(Math.abs(angle(scaled.sin, scaled.cos, 0) - angle(base.sin, base.cos, 0)) < 1e-7);
    // Lowest frequency (i = 63): wavelength > 8192, divided by 8.
    assert.ok(Math.abs(angle(scaled.sin, scaled.cos, 63) * 8 - angle(base.sin, base.cos, 63)) < 1e-9);
  });
});

describe('CPU layout, indexing and reductions', () => {
  it('transpose twice is the identity and matches index arithmetic', () => {
    const data = randomArray(2 * 3 * 4, 7);
    const x = ops.tensor(data, [2, 3, 4]);
    const t = ops.transpose(x, [2, 0, 1]);
    assert.deepEqual(t.shape, [4, 2, 3]);
    const tv = read(t);
    assert.equal(tv[(3 * 2 + 1) * 3 + 2], data[(1 * 3 + 2) * 4 + 3]);
    assert.deepEqual(read(ops.transpose(t, [1, 2, 0])), Array.from(data));
  });

  it('slice and concat are inverse', () => {
    const data = randomArray(4 * 6, 8);
    const x = ops.tensor(data, [4, 6]);
    const parts = [ops.slice(x, [0, 0], [4, 2]), ops.slice(x, [0, 2], [4, 5]), ops.slice(x, [0, -1])];
    assert.deepEqual(parts.map((p) => p.shape), [[4, 2], [4, 3], [4, 1]]);
    assert.deepEqual(read(ops.concat(parts, 1)), Array.from(data));
    assert.deepEqual(read(ops.concat([ops.slice(x, [0], [1]), ops.slice(x, [1])], 0)), Array.from(data));
  });

  it('gather picks embedding rows', () => {
    const table = ops.tensor([0, 1, 10, 11, 20, 21], [3, 2]);
    const y = ops.gather(table, ops.tensor(new Int32Array([2, 0, 2, 1]), [2, 2]));
    assert.deepEqual(y.shape, [2, 2, 2]);
    assert.deepEqual(read(y), [20, 21, 0, 1, 20, 21, 10, 11]);
  });

  it('reductions, argmax and top-k agree with sorting', () => {
    const data = randomArray(5 * 7, 9);
    const x = ops.tensor(data, [5, 7]);
    const rows = [0, 1, 2, 3, 4].map((r) => Array.from(data.slice(r * 7, r * 7 + 7)));
    assert.ok(close(read(ops.sum(x, 1)), rows.map((r) => r.reduce((s, v) => s + v, 0)), 1e-5));
    assert.ok(close(read(ops.mean(x, 0)), [0, 1, 2, 3, 4, 5, 6].map((c) => rows.reduce((s, r) => s + r[c], 0) / 5), 1e-5));
    assert.deepEqual(read(ops.max(x, 1)), rows.map((r) => Math.max(...r)));
    assert.deepEqual(read(ops.argmax(x, 1)), rows.map((r) => r.indexOf(Math.max(...r))));
    assert.deepEqual(ops.sum(x, 1, true).shape, [5, 1]);
    const { values, indices } = ops.topk(x, 3, 1);
    const v = read(values);
    const ix = read(indices);
    rows.forEach((r, i) => {
      const sorted = [...r].sort((a, b) => b - a).slice(0, 3);
      assert.deepEqual(v.slice(i * 3, i * 3 + 3), sorted);
      assert.deepEqual(ix.slice(i * 3, i * 3 + 3).map((j) => r[j]), sorted);
    });
    // Ties go to the lower index.
    assert.deepEqual(read(ops.topk(ops.tensor([1, 3, 3, 2]), 2).indices), [1, 2]);
  });
});
