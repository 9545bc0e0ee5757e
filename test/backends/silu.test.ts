/**
 * SiLU's SIMD kernel (wasm/activation.ts, behind CpuBackend.unary('silu')) against the op
 * table's reference x / (1 + exp(-x)), in both builds and with one and three threads: awkward
 * lengths, large magnitudes both ways, and the special values.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { tensor } from '../../src/core/ops.js';
import { UNARY_OPS } from '../../src/core/op-table.js';
import { relativeError } from '../helpers/numeric.js';
import { randomArray } from '../helpers/random.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';

const silu = UNARY_OPS.silu.reference;

describeKernelBuilds('silu', (cpu) => {
  it('matches the reference for awkward lengths and magnitudes, serial and split', () => {
    for (const [n, scale, seed] of [[1, 1, 1], [3, 4, 2], [2049, 3, 3], [70001, 10, 4], [130, 60, 5]] as const) {
      const x = randomArray(n, seed).map((v) => v * scale);
      const got = cpu().unary('silu', tensor(x, [n], 'f32', cpu())).readSync() as Float32Array;
      const want = x.map(silu);
      const err = relativeError(got, want);
      assert.ok(err <= 1e-6, `n ${n}, scale ${scale}: relative error ${err}`);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `x ${x[i]}: ${got[i]} vs ${want[i]}`);
    }
  });

  it('gives the reference on special values', () => {
    const x = Float32Array.from([0, -0, 1, -1, 88, -88, 100, -100, 1e-30, -1e-30, Infinity, -Infinity, Number.NaN, 3.4e38, -3.4e38]);
    const got = cpu().unary('silu', tensor(x, [x.length], 'f32', cpu())).readSync() as Float32Array;
    const want = Float32Array.from(x, silu);
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `silu(${x[i]}) should be NaN, got ${got[i]}`);
      // Below x = -87.3 the kernel's exp flushes to 0 (math.ts), where silu's magnitude is under 1e-35.
      else assert.ok(got[i] === want[i] || Math.abs(got[i] - want[i]) <= Math.max(1e-35, 1e-6 * Math.abs(want[i])), `silu(${x[i]}): ${got[i]} vs ${want[i]}`);
    }
  });
});
