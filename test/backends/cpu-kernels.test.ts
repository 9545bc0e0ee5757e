/**
 * Every WebAssembly kernel of the CPU backend against its plain TypeScript reference on random
 * inputs, in both builds (baseline SIMD, relaxed SIMD where the engine has it) and with one and
 * three threads (more threads than cores, to shake out partitioning bugs).
 * Error measure: norm-wise relative error (test/helpers/numeric.ts), bound 1e-5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { nodePlatform } from '../../src/backends/cpu/node/platform.js';
import { matmulReference } from '../../src/backends/cpu/reference/matmul.js';
import { softmaxReference } from '../../src/backends/cpu/reference/normalization.js';
import { linearBsrReference, linearCsrReference, linearNmReference } from '../../src/backends/cpu/reference/sparse-linear.js';
import { matmul, matmulShape, tensor } from '../../src/core/ops.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { linear } from '../../src/sparse/linear.js';
import { assertClose } from '../helpers/numeric.js';
import { randomArray } from '../helpers/random.js';
import { Random } from '../../src/core/random.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';

const TOLERANCE = 1e-5;

/** A random matrix whose entries are nonzero with probability `density` (exact zeros elsewhere). */
function sparseArray(rows: number, cols: number, density: number, seed: number): Float32Array {
  const a = randomArray(rows * cols, seed);
  const rng = new Random(seed + 1);
  for (let i = 0; i < a.length; i++) if (rng.uniform() >= density) a[i] = 0;
  return a;
}

describeKernelBuilds('CPU kernels', (cpu) => {
  it('matmul matches the reference for awkward shapes, transposes and batch broadcasting', () => {
    const cases: [number, number, number, number[], number[]][] = [
      [1, 1, 1, [], []],
      [1, 37, 13, [], []],
      [2, 33, 17, [], []],
      [3, 64, 64, [], []],
      [5, 9, 7, [], []],
      [7, 130, 301, [], []],
      [49, 70, 45, [], []],
      [130, 520, 270, [], []],
      [1, 5000, 3, [], []],
      [3, 5, 7, [2, 3], [3]],
      [1, 40, 70, [4], []],
      [6, 40, 70, [2, 1], [1, 3]],
      [64, 64, 64, [16], [16]],
      [0, 4, 4, [], []],
      [4, 4, 0, [], []],
    ];
    let seed = 1;
    for (const [M, N, K, batchA, batchB] of cases) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const aShape = [...batchA, ...(transposeA ? [K, M] : [M, K])];
          const bShape = [...batchB, ...(transposeB ? [N, K] : [K, N])];
          const aData = randomArray(aShape.reduce((p, d) => p * d, 1), seed++);
          const bData = randomArray(bShape.reduce((p, d) => p * d, 1), seed++);
          const a = tensor(aData, aShape, 'f32', cpu());
          const b = tensor(bData, bShape, 'f32', cpu());
          const c = matmul(a, b, { transposeA, transposeB });
          const { batchShape } = matmulShape(aShape, bShape, { transposeA, transposeB });
          const want = new Float32Array(c.size);
          matmulReference(aData, aShape, bData, bShape, want, batchShape, M, N, K, transposeA, transposeB);
          assertClose(c.readSync(), want, TOLERANCE, `matmul ${M}x${N}x${K} A${transposeA ? '^T' : ''} B${transposeB ? '^T' : ''} batch ${batchA}/${batchB}`);
          for (const t of [a, b, c]) t.dispose();
        }
      }
    }
  });

  it('softmax and log-softmax match the reference, with large logits and -inf', () => {
    for (const [rows, n, scale] of [[1, 1, 1], [3, 7, 1], [5, 33, 30], [64, 1000, 10], [2, 4097, 100], [700, 128, 1]]) {
      const data = randomArray(rows * n, rows + n, scale);
      if (n > 1) data[0] = -Infinity; // a masked position; a row of only -inf has no softmax (NaN)
      const x = tensor(data, [rows, n], 'f32', cpu());
      for (const log of [false, true]) {
        const y = log ? cpu().logSoftmax(x, 1) : cpu().softmax(x, 1);
        const want = new Float32Array(rows * n);
        softmaxReference(data, want, rows, n, 1, log);
        const got = y.readSync();
        if (log && n > 1) {
          // -inf stays -inf; compare the finite entries.
          assert.equal(got[0], -Infinity);
          got[0] = want[0] = 0;
        }
        assertClose(got, want, TOLERANCE, `${log ? 'log-' : ''}softmax ${rows}x${n} scale ${scale}`);
        y.dispose();
      }
      x.dispose();
    }
  });

  it('CSR products match the reference (u16 and i32 indices, empty and full rows)', () => {
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [7, 13, 0.3],
      [33, 70, 0],
      [64, 100, 1],
      [130, 257, 0.1],
      [5, 70000, 0.001],
    ];
    for (const [rows, cols, density] of cases) {
      const dense = sparseArray(rows, cols, density, rows * 31 + cols);
      const w = CsrMatrix.fromDense(dense, rows, cols, cpu());
      assert.equal(w.colIndices.dtype, cols <= 65536 ? 'u16' : 'i32');
      for (const M of [1, 2, 17, 40]) {
        const xData = randomArray(M * cols, M);
        const x = tensor(xData, [M, cols], 'f32', cpu());
        const y = linear(x, w);
        const want = linearCsrReference(xData, M, w.readArraysSync());
        assertClose(y.readSync(), want, TOLERANCE, `CSR ${rows}x${cols} density ${density} batch ${M}`);
        x.dispose();
        y.dispose();
      }
      w.dispose();
    }
  });

  it('N:M products match the reference (2:4 with odd group counts, 1:4, 4:8 with odd row counts, 7:16, 2:32)', () => {
    const cases: [number, number, number, number][] = [
      [1, 4, 2, 4],
      [9, 12, 2, 4],
      [5, 24, 2, 4],
      [33, 64, 2, 4],
      [3, 4100, 2, 4],
      [17, 40, 1, 4],
      [8, 48, 4, 8],
      [1, 8, 4, 8],
      [13, 1000, 4, 8],
      [70, 64, 4, 8],
      [3, 96, 7, 16],
      [4, 64, 2, 32],
    ];
    for (const [rows, cols, n, m] of cases) {
      const w = NmMatrix.fromDenseByMagnitude(randomArray(rows * cols, rows + cols + n), rows, cols, n, m, cpu());
      for (const M of [1, 3, 20]) {
        const xData = randomArray(M * cols, M + 5);
        const x = tensor(xData, [M, cols], 'f32', cpu());
        const y = linear(x, w);
        const want = linearNmReference(xData, M, w.readArraysSync());
        assertClose(y.readSync(), want, TOLERANCE, `${n}:${m} ${rows}x${cols} batch ${M}`);
        x.dispose();
        y.dispose();
      }
      w.dispose();
    }
  });

  it('BSR products match the reference (block heights 4, 8, 16, 32 and a non-SIMD 3)', () => {
    const cases: [number, number, number, number, number][] = [
      [4, 4, 4, 4, 1],
      [32, 48, 16, 16, 0.5],
      [24, 30, 8, 3, 0.6],
      [12, 20, 4, 5, 0.5],
      [64, 64, 32, 2, 0.4],
      [6, 6, 3, 2, 0.5],
      [64, 64, 16, 16, 0],
    ];
    for (const [rows, cols, br, bc, density] of cases) {
      // Zero whole blocks at random so the BSR structure is sparse.
      const dense = randomArray(rows * cols, rows + br);
      const keep = sparseArray(rows / br, cols / bc, density, bc + 11);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) if (keep[Math.floor(r / br) * (cols / bc) + Math.floor(c / bc)] === 0) dense[r * cols + c] = 0;
      }
      const w = BsrMatrix.fromDense(dense, rows, cols, br, bc, cpu());
      for (const M of [1, 2, 19]) {
        const xData = randomArray(M * cols, M + 9);
        const x = tensor(xData, [M, cols], 'f32', cpu());
        const y = linear(x, w);
        const want = linearBsrReference(xData, M, w.readArraysSync());
        assertClose(y.readSync(), want, TOLERANCE, `BSR ${rows}x${cols} ${br}x${bc} density ${density} batch ${M}`);
        x.dispose();
        y.dispose();
      }
      w.dispose();
    }
  });
});

describe('CPU kernels across thread counts', () => {
  it('give bitwise identical results with 1 and 3 threads', async () => {
    const one = await CpuBackend.create(nodePlatform, { threads: 1 });
    const three = await CpuBackend.create(nodePlatform, { threads: 3 });
    try {
      const [rows, cols, batch] = [300, 520, 33];
      const wData = sparseArray(rows, cols, 0.2, 5);
      const xData = randomArray(batch * cols, 6);
      const results = [one, three].map((cpu) => {
        const x = tensor(xData, [batch, cols], 'f32', cpu);
        const w = CsrMatrix.fromDense(wData, rows, cols, cpu);
        const wd = tensor(wData, [rows, cols], 'f32', cpu);
        const out = [linear(x, w).readSync(), matmul(x, wd, { transposeB: true }).readSync(), linear(x.reshape([batch * cols]).reshape([batch, cols]), wd).readSync()];
        w.dispose();
        return out;
      });
      for (let i = 0; i < results[0].length; i++) assert.deepEqual(results[0][i], results[1][i]);
    } finally {
      one.dispose();
      three.dispose();
    }
  });
});
