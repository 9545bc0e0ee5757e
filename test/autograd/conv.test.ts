/** conv2d, maxPool2d and avgPool2d: forward against plain loops, gradients against central differences. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ag from '../../src/autograd/index.js';
import { ShapeError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { cpuBackend } from '../helpers/cpu.js';
import { gradcheck } from './gradcheck.js';

before(async () => {
  await cpuBackend();
});

interface ConvCase {
  readonly batch: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
}

const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/** Direct cross-correlation in float64: out[b, o, y, x] = bias[o] + sum_{c,i,j} x[b, c, y s - p + i, x s - p + j] w[o, c, i, j]. */
function convRef(c: ConvCase, x: Float64Array, w: Float64Array, bias: Float64Array | null): Float64Array {
  const { batch: B, inChannels: C, outChannels: O, height: H, width: W } = c;
  const [kh, kw] = c.kernel;
  const [sh, sw] = c.stride;
  const [ph, pw] = c.padding;
  const Ho = outSize(H, kh, sh, ph);
  const Wo = outSize(W, kw, sw, pw);
  const out = new Float64Array(B * O * Ho * Wo);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          let s = bias ? bias[o] : 0;
          for (let ch = 0; ch < C; ch++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const y = oy * sh - ph + i;
                const xx = ox * sw - pw + j;
                if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                s += x[((b * C + ch) * H + y) * W + xx] * w[((o * C + ch) * kh + i) * kw + j];
              }
            }
          }
          out[((b * O + o) * Ho + oy) * Wo + ox] = s;
        }
      }
    }
  }
  return out;
}

/** Pooling over [B, C, H, W] windows in float64, reducing each window's values with f. */
function poolRef(shape: number[], kernel: [number, number], stride: [number, number], x: Float64Array, f: (window: number[]) => number): Float64Array {
  const [B, C, H, W] = shape;
  const Ho = outSize(H, kernel[0], stride[0], 0);
  const Wo = outSize(W, kernel[1], stride[1], 0);
  const out = new Float64Array(B * C * Ho * Wo);
  for (let bc = 0; bc < B * C; bc++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const window: number[] = [];
        for (let i = 0; i < kernel[0]; i++) for (let j = 0; j < kernel[1]; j++) window.push(x[(bc * H + oy * stride[0] + i) * W + ox * stride[1] + j]);
        out[(bc * Ho + oy) * Wo + ox] = f(window);
      }
    }
  }
  return out;
}

describe('conv2d', () => {
  const cases: (ConvCase & { bias: boolean })[] = [
    { batch: 2, inChannels: 3, outChannels: 4, height: 5, width: 6, kernel: [3, 3], stride: [1, 1], padding: [0, 0], bias: true },
    { batch: 2, inChannels: 2, outChannels: 3, height: 6, width: 5, kernel: [3, 3], stride: [1, 1], padding: [1, 1], bias: false },
    { batch: 3, inChannels: 2, outChannels: 2, height: 7, width: 7, kernel: [3, 3], stride: [2, 2], padding: [1, 1], bias: true },
    { batch: 1, inChannels: 3, outChannels: 2, height: 8, width: 6, kernel: [2, 3], stride: [2, 1], padding: [0, 2], bias: true },
    { batch: 2, inChannels: 1, outChannels: 3, height: 5, width: 5, kernel: [1, 1], stride: [3, 2], padding: [0, 0], bias: false },
    { batch: 2, inChannels: 2, outChannels: 2, height: 4, width: 4, kernel: [4, 4], stride: [1, 1], padding: [2, 1], bias: true },
  ];
  for (const c of cases) {
    const name = `B${c.batch} C${c.inChannels} O${c.outChannels} ${c.height}x${c.width} k${c.kernel} s${c.stride} p${c.padding}${c.bias ? ' bias' : ''}`;
    it(`matches the loop reference and central differences: ${name}`, () => {
      const inputs = [
        { shape: [c.batch, c.inChannels, c.height, c.width], seed: 11 },
        { shape: [c.outChannels, c.inChannels, ...c.kernel], seed: 12 },
        ...(c.bias ? [{ shape: [c.outChannels], seed: 13 }] : []),
      ];
      gradcheck(
        `conv2d ${name}`,
        inputs,
        ([x, w, b]) => ag.conv2d(x, w, b ?? null, { stride: c.stride, padding: c.padding }),
        ([x, w, b]) => convRef(c, x, w, b ?? null),
      );
    });
  }

  it('takes one number for both axes and checks shapes', () => {
    const x = ag.constant(tensor(new Float32Array(2 * 3 * 5 * 5).fill(1), [2, 3, 5, 5]));
    const w = ag.constant(tensor(new Float32Array(4 * 3 * 3 * 3).fill(1), [4, 3, 3, 3]));
    const y = ag.conv2d(x, w, null, { stride: 2, padding: 1 });
    assert.deepEqual(y.shape, [2, 4, 3, 3]);
    const v = y.value.readSync();
    // Corner window: 2x2 of the 3x3 kernel inside the image, 3 channels of ones.
    assert.equal(v[0], 12);
    assert.equal(v[4], 27);
    const wrong = ag.constant(tensor(new Float32Array(4 * 2 * 3 * 3), [4, 2, 3, 3]));
    assert.throws(() => ag.conv2d(x, wrong), ShapeError);
    assert.throws(() => ag.conv2d(x, ag.constant(tensor(new Float32Array(4 * 3 * 7 * 7), [4, 3, 7, 7]))), ShapeError);
  });
});

describe('pooling', () => {
  const poolCases: { shape: number[]; kernel: [number, number]; stride: [number, number] }[] = [
    { shape: [2, 3, 4, 6], kernel: [2, 2], stride: [2, 2] },
    { shape: [1, 2, 5, 5], kernel: [3, 3], stride: [1, 1] },
    { shape: [2, 2, 7, 5], kernel: [3, 2], stride: [2, 2] },
  ];
  for (const p of poolCases) {
    const name = `[${p.shape}] k${p.kernel} s${p.stride}`;
    it(`maxPool2d ${name}`, () => {
      gradcheck(`maxPool2d ${name}`, [{ shape: p.shape, seed: 21 }], ([x]) => ag.maxPool2d(x, { kernel: p.kernel, stride: p.stride }), ([x]) =>
        poolRef(p.shape, p.kernel, p.stride, x, (w) => Math.max(...w)),
      );
    });
    it(`avgPool2d ${name}`, () => {
      gradcheck(`avgPool2d ${name}`, [{ shape: p.shape, seed: 22 }], ([x]) => ag.avgPool2d(x, { kernel: p.kernel, stride: p.stride }), ([x]) =>
        poolRef(p.shape, p.kernel, p.stride, x, (w) => w.reduce((s, v) => s + v, 0) / w.length),
      );
    });
  }

  it('routes a tied maximum to the first position only, and the stride defaults to the kernel', () => {
    const x = ag.parameter(tensor([1, 1, 0, 2, 0, 1, 2, 2, 5, 0, 0, 0, 0, 5, 0, 0], [1, 1, 4, 4]));
    const y = ag.maxPool2d(x, { kernel: 2 });
    assert.deepEqual(y.shape, [1, 1, 2, 2]);
    assert.deepEqual([...y.value.readSync()], [1, 2, 5, 0]);
    ag.backward(y, { seed: tensor([1, 2, 3, 4], [1, 1, 2, 2]) });
    assert.deepEqual([...x.grad!.readSync()], [1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
  });
});
