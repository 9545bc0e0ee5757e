/** Every autograd op's gradient against central differences of a float64 reference (gradcheck.ts). */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { erf } from '../../src/core/op-table.js';
import { tensor } from '../../src/core/ops.js';
import { cpuBackend } from '../helpers/cpu.js';
import { broadcastRef, gradcheck, stridesOf } from './gradcheck.js';

before(async () => {
  await cpuBackend();
});

const map = (f: (x: number) => number) => ([x]: Float64Array[]) => x.map(f);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** [..., M, K] x [..., K, N] in float64 with transposes and broadcast batch dims. */
function matmulRef(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], tA = false, tB = false): Float64Array {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const M = tA ? ac : ar;
  const K = tA ? ar : ac;
  const N = tB ? br : bc;
  const batchA = aShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = bShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const ao = (batchA === 1 ? 0 : t) * ar * ac;
    const bo = (batchB === 1 ? 0 : t) * br * bc;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ao + (tA ? k * ac + i : i * ac + k)] * b[bo + (tB ? j * bc + k : k * bc + j)];
        out[t * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

/** Reduction over `axis` of a row-major tensor. */
function reduceRef(x: Float64Array, shape: number[], axis: number, f: (values: number[]) => number): Float64Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const values = Array.from({ length: n }, (_, k) => x[(o * n + k) * inner + i]);
      out[o * inner + i] = f(values);
    }
  }
  return out;
}

/** `rows` rows of length d, each mapped by f. */
function rowsRef(x: Float64Array, d: number, f: (row: number[]) => number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) out.set(f(Array.from(x.subarray(r * d, (r + 1) * d))), r * d);
  return out;
}

const softmaxRow = (row: number[]) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('autograd: elementwise', () => {
  it('unary ops', () => {
    const x = { shape: [3, 5], seed: 1 };
    const pos = { shape: [3, 5], seed: 2, positive: true };
    gradcheck('neg', [x], ([a]) => ag.neg(a), map((v) => -v));
    gradcheck('exp', [x], ([a]) => ag.exp(a), map(Math.exp));
    gradcheck('log', [pos], ([a]) => ag.log(a), map(Math.log));
    gradcheck('sqrt', [pos], ([a]) => ag.sqrt(a), map(Math.sqrt));
    gradcheck('rsqrt', [pos], ([a]) => ag.rsqrt(a), map((v) => 1 / Math.sqrt(v)));
    gradcheck('square', [x], ([a]) => ag.square(a), map((v) => v * v));
    gradcheck('reciprocal', [pos], ([a]) => ag.reciprocal(a), map((v) => 1 / v));
    gradcheck('tanh', [x], ([a]) => ag.tanh(a), map(Math.tanh));
    gradcheck('sigmoid', [x], ([a]) => ag.sigmoid(a), map(sigmoid));
    // relu away from its kink (central differences straddle 0 only within 1e-6 of it).
    gradcheck('relu', [{ shape: [2, 4], values: [-2, -0.5, 0.3, 1.7, -1.1, 0.9, 2.2, -0.05] }], ([a]) => ag.relu(a), map((v) => Math.max(v, 0)));
    gradcheck('silu', [x], ([a]) => ag.silu(a), map((v) => v * sigmoid(v)));
    gradcheck('gelu', [x], ([a]) => ag.gelu(a), map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))));
    const c = Math.sqrt(2 / Math.PI);
    gradcheck('geluTanh', [x], ([a]) => ag.geluTanh(a), map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)))));
    gradcheck('affine', [x], ([a]) => ag.affine(a, -1.5, 0.25), map((v) => -1.5 * v + 0.25));
  });

  it('binary ops with broadcasting sum gradients back to each input shape', () => {
    const cases: [number[], number[]][] = [
      [[3, 4], [3, 4]],
      [[3, 4], [4]],
      [[2, 3, 4], [3, 1]],
      [[1, 4], [3, 1]],
      [[3, 4], []],
    ];
    for (const [sa, sb] of cases) {
      const inputs = [{ shape: sa, seed: 3 }, { shape: sb, seed: 4 }];
      const ref = (f: (x: number, y: number) => number) => ([a, b]: Float64Array[]) => broadcastRef(a, sa, b, sb, f);
      gradcheck(`add ${sa}|${sb}`, inputs, ([a, b]) => ag.add(a, b), ref((x, y) => x + y));
      gradcheck(`sub ${sa}|${sb}`, inputs, ([a, b]) => ag.sub(a, b), ref((x, y) => x - y));
      gradcheck(`mul ${sa}|${sb}`, inputs, ([a, b]) => ag.mul(a, b), ref((x, y) => x * y));
      gradcheck(`div ${sa}|${sb}`, [inputs[0], { ...inputs[1], positive: true }], ([a, b]) => ag.div(a, b), ref((x, y) => x / y));
    }
  });
});

describe('autograd: linear algebra', () => {
  it('matmul with every transpose combination and broadcast batch dims', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = tA ? [2, 4, 3] : [2, 3, 4];
      const b = tB ? [5, 4] : [4, 5];
      gradcheck(`matmul tA=${tA} tB=${tB}`, [{ shape: a, seed: 5 }, { shape: b, seed: 6 }], ([x, y]) => ag.matmul(x, y, { transposeA: tA, transposeB: tB }), ([x, y]) => matmulRef(x, a, y, b, tA, tB));
    }
    gradcheck('matmul batched both', [{ shape: [2, 3, 4], seed: 7 }, { shape: [2, 4, 2], seed: 8 }], ([x, y]) => ag.matmul(x, y), ([x, y]) => matmulRef(x, [2, 3, 4], y, [2, 4, 2]));
  });

  it('linear over a 3-d input, with and without bias', () => {
    const x = { shape: [2, 3, 4], seed: 9 };
    const w = { shape: [5, 4], seed: 10 };
    const b = { shape: [5], seed: 11 };
    const ref = ([xv, wv, bv]: Float64Array[]) => {
      const y = matmulRef(xv, [6, 4], wv, [5, 4], false, true);
      return bv ? y.map((v, i) => v + bv[i % 5]) : y;
    };
    gradcheck('linear + bias', [x, w, b], ([xv, wv, bv]) => ag.linear(xv, wv, bv), ref);
    gradcheck('linear', [x, w], ([xv, wv]) => ag.linear(xv, wv), ref);
  });
});

describe('autograd: layout and reductions', () => {
  it('reshape, transpose, slice, concat', () => {
    gradcheck('reshape', [{ shape: [2, 6], seed: 12 }], ([a]) => ag.reshape(a, [3, 4]), ([a]) => a.slice());
    gradcheck('transpose', [{ shape: [2, 3, 4], seed: 13 }], ([a]) => ag.transpose(a, [2, 0, 1]), ([a]) => {
      const out = new Float64Array(24);
      const s = stridesOf([2, 3, 4]);
      let k = 0;
      for (let l = 0; l < 4; l++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) out[k++] = a[i * s[0] + j * s[1] + l];
      return out;
    });
    gradcheck('slice', [{ shape: [4, 5], seed: 14 }], ([a]) => ag.slice(a, [1, -4], [3, 4]), ([a]) => {
      const out: number[] = [];
      for (let i = 1; i < 3; i++) for (let j = 1; j < 4; j++) out.push(a[i * 5 + j]);
      return Float64Array.from(out);
    });
    gradcheck('concat axis 1', [{ shape: [2, 3], seed: 15 }, { shape: [2, 2], seed: 16 }], ([a, b]) => ag.concat([a, b], 1), ([a, b]) => {
      const out: number[] = [];
      for (let i = 0; i < 2; i++) out.push(...a.subarray(i * 3, i * 3 + 3), ...b.subarray(i * 2, i * 2 + 2));
      return Float64Array.from(out);
    });
  });

  it('sum and mean along an axis (kept or not) and over everything', () => {
    const shape = [2, 3, 4];
    for (const axis of [0, 1, 2]) {
      for (const keepDims of [false, true]) {
        gradcheck(`sum axis ${axis}`, [{ shape, seed: 17 }], ([a]) => ag.sum(a, axis, keepDims), ([a]) => reduceRef(a, shape, axis, (v) => v.reduce((x, y) => x + y, 0)));
        gradcheck(`mean axis ${axis}`, [{ shape, seed: 18 }], ([a]) => ag.mean(a, axis, keepDims), ([a]) => reduceRef(a, shape, axis, (v) => v.reduce((x, y) => x + y, 0) / v.length));
      }
    }
    gradcheck('sumAll', [{ shape, seed: 19 }], ([a]) => ag.sumAll(a), ([a]) => Float64Array.of(a.reduce((x, y) => x + y, 0)));
    gradcheck('meanAll', [{ shape, seed: 20 }], ([a]) => ag.meanAll(a), ([a]) => Float64Array.of(a.reduce((x, y) => x + y, 0) / a.length));
  });
});

describe('autograd: neural-network ops', () => {
  it('softmax and log-softmax along the last axis and along axis 0', () => {
    gradcheck('softmax', [{ shape: [3, 5], seed: 21 }], ([a]) => ag.softmax(a), ([a]) => rowsRef(a, 5, softmaxRow));
    gradcheck('logSoftmax', [{ shape: [3, 5], seed: 22 }], ([a]) => ag.logSoftmax(a), ([a]) => rowsRef(a, 5, (r) => softmaxRow(r).map(Math.log)));
    gradcheck('softmax axis 0', [{ shape: [4, 2], seed: 23 }], ([a]) => ag.softmax(a, 0), ([a]) => {
      const t = new Float64Array(8);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) t[j * 4 + i] = a[i * 2 + j];
      const s = rowsRef(t, 4, softmaxRow);
      const out = new Float64Array(8);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) out[i * 2 + j] = s[j * 4 + i];
      return out;
    });
  });

  it('RMSNorm and LayerNorm, with and without affine parameters', () => {
    const d = 6;
    const rms = (eps: number) => ([x, w]: Float64Array[]) =>
      rowsRef(x, d, (row) => {
        const r = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / d + eps);
        return row.map((v, i) => v * r * (w ? w[i] : 1));
      });
    gradcheck('rmsNorm', [{ shape: [2, 3, d], seed: 24 }, { shape: [d], seed: 25 }], ([x, w]) => ag.rmsNorm(x, w, 1e-5), rms(1e-5));
    gradcheck('rmsNorm without weight', [{ shape: [4, d], seed: 26 }], ([x]) => ag.rmsNorm(x, null, 1e-5), rms(1e-5));
    const ln = ([x, w, b]: Float64Array[]) =>
      rowsRef(x, d, (row) => {
        const mu = row.reduce((s, v) => s + v, 0) / d;
        const r = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / d + 1e-5);
        return row.map((v, i) => (v - mu) * r * (w ? w[i] : 1) + (b ? b[i] : 0));
      });
    gradcheck('layerNorm', [{ shape: [3, d], seed: 27 }, { shape: [d], seed: 28 }, { shape: [d], seed: 29 }], ([x, w, b]) => ag.layerNorm(x, w, b), ln);
    gradcheck('layerNorm without affine', [{ shape: [3, d], seed: 30 }], ([x]) => ag.layerNorm(x, null, null), ln);
  });

  it('cross-entropy against integer targets, and embedding lookup', () => {
    const targets = [2, 0, 4, 4];
    gradcheck('crossEntropy', [{ shape: [4, 5], seed: 31 }], ([x]) => ag.crossEntropy(x, tensor(Int32Array.from(targets), [4], 'i32')), ([x]) => {
      let loss = 0;
      for (let i = 0; i < 4; i++) loss -= Math.log(softmaxRow(Array.from(x.subarray(i * 5, i * 5 + 5)))[targets[i]]);
      return Float64Array.of(loss / 4);
    });
    const ids = [3, 1, 3, 0, 2, 3];
    gradcheck('embedding', [{ shape: [5, 4], seed: 32 }], ([t]) => ag.embedding(t, tensor(Int32Array.from(ids), [2, 3], 'i32')), ([t]) => {
      const out: number[] = [];
      for (const id of ids) out.push(...t.subarray(id * 4, id * 4 + 4));
      return Float64Array.from(out);
    });
  });

  it('dropout (the same seeded mask on both sides) and rotary embedding', () => {
    const x = { shape: [4, 6], seed: 33 };
    const mask = ag.dropout(ag.constant(tensor(new Float32Array(24).fill(1), [4, 6])), 0.25, 7).value.readSync() as Float32Array;
    assert.ok(mask.some((v) => v === 0) && mask.some((v) => v !== 0), 'the mask drops some and keeps some');
    assert.ok(mask.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6), 'kept values are scaled by 1 / (1 - p)');
    gradcheck('dropout', [x], ([a]) => ag.dropout(a, 0.25, 7), ([a]) => a.map((v, i) => v * mask[i]));
    const T = 3;
    const D = 4;
    const cos = Float32Array.from({ length: T * 2 }, (_, i) => Math.fround(Math.cos(0.3 * (i + 1))));
    const sin = Float32Array.from({ length: T * 2 }, (_, i) => Math.fround(Math.sin(0.3 * (i + 1))));
    gradcheck('rope', [{ shape: [2, T, D], seed: 34 }], ([a]) => ag.rope(a, tensor(cos, [T, 2]), tensor(sin, [T, 2])), ([a]) => {
      const out = new Float64Array(a.length);
      for (let r = 0; r < 2; r++) {
        for (let t = 0; t < T; t++) {
          const base = (r * T + t) * D;
          for (let i = 0; i < D / 2; i++) {
            const c = cos[t * 2 + i];
            const s = sin[t * 2 + i];
            const x1 = a[base + i];
            const x2 = a[base + i + D / 2];
            out[base + i] = x1 * c - x2 * s;
            out[base + i + D / 2] = x2 * c + x1 * s;
          }
        }
      }
      return out;
    });
  });
});
