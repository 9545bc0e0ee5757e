/**
 * linearGroup (several products of one input, as one job: decode's q/k/v and gate/up) against
 * one linear() per weight and against the plain reference, in both builds and with one and three
 * threads: dense, CSR, bitmap and 2:4 groups take the grouped kernels; other cases must fall back.
 */
import assert from 'node:assert/strict';
import { it, mock } from 'node:test';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { ShapeError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import type { Tensor } from '../../src/core/tensor.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { linear, linearGroup, type LinearWeight } from '../../src/sparse/linear.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { denseLinear, randomDense, randomNmDense, randomSparse } from '../sparse/helpers.js';
import { relativeError } from '../helpers/numeric.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';

const TOLERANCE = 1e-5;

type Build = (w: Float32Array, rows: number, cols: number, cpu: CpuBackend) => LinearWeight;
const dense: Build = (w, r, c, cpu) => tensor(w, [r, c], 'f32', cpu);
const csr: Build = (w, r, c, cpu) => CsrMatrix.fromDense(w, r, c, cpu);
const nm24: Build = (w, r, c, cpu) => NmMatrix.fromDense(w, r, c, 2, 4, cpu);
const bitmap: Build = (w, r, c, cpu) => BitmapMatrix.fromDense(w, r, c, cpu);

describeKernelBuilds('linearGroup', (cpu) => {
  /** Checks linearGroup(x, weights) against the reference and returns whether the grouped kernel ran. */
  async function check(rowsList: number[], cols: number, lead: number[], make: (rows: number, i: number) => { w: Float32Array; build: Build }, withBias: boolean): Promise<boolean> {
    const batch = lead.reduce((p, d) => p * d, 1);
    const xData = randomDense(batch * cols, 11 + cols);
    const x = tensor(xData, [...lead, cols], 'f32', cpu());
    const parts = rowsList.map((rows, i) => ({ rows, ...make(rows, i) }));
    const weights = parts.map((p) => p.build(p.w, p.rows, cols, cpu()));
    const biases = parts.map((p, i) => (withBias ? tensor(randomDense(p.rows, 100 + i), [p.rows], 'f32', cpu()) : null));
    const grouped = cpu().linearGroup(batch === 1 ? x.reshape([1, cols]) : x, weights.map((w) => groupedOf(w)));
    const ran = grouped !== null;
    grouped?.forEach((t) => t.dispose());
    const ys = linearGroup(x, weights, biases);
    assert.equal(ys.length, parts.length);
    for (let i = 0; i < parts.length; i++) {
      const { rows, w } = parts[i];
      assert.deepEqual(ys[i].shape, [...lead, rows], `output ${i} shape`);
      let want = denseLinear(xData, batch, w, rows, cols);
      if (biases[i]) {
        const b = biases[i]!.readSync() as Float32Array;
        want = want.map((v, j) => v + b[j % rows]);
      }
      const err = relativeError(ys[i].readSync() as Float32Array, want);
      assert.ok(err <= TOLERANCE, `weight ${i} [${rows}, ${cols}]: relative error ${err}`);
      // Bitwise the same as the weight's own linear(): the grouped kernels run the same code per row.
      const single = linear(x, weights[i], biases[i]);
      assert.deepEqual(ys[i].readSync(), single.readSync(), `weight ${i}: grouped and single products differ`);
      single.dispose();
      ys[i].dispose();
    }
    return ran;
  }

  it('runs dense, CSR and 2:4 groups of one activation row as one job, equal to linear() per weight', async () => {
    for (const cols of [8, 40, 96, 772]) {
      for (const rowsList of [[13, 5, 5], [64, 16, 16], [37, 41], [1, 0, 7]]) {
        assert.ok(await check(rowsList, cols, [1], (r, i) => ({ w: randomDense(r * cols, r + i), build: dense }), false), `dense ${rowsList} x ${cols} grouped`);
        assert.ok(await check(rowsList, cols, [], (r, i) => ({ w: randomSparse(r, cols, 0.2 + 0.3 * i, r + 7 * i), build: csr }), true), `csr ${rowsList} x ${cols} grouped`);
        assert.ok(await check(rowsList, cols, [1, 1], (r, i) => ({ w: randomNmDense(r, cols, 2, 4, r + 3 * i), build: nm24 }), false), `2:4 ${rowsList} x ${cols} grouped`);
      }
    }
  });

  it('handles CSR and bitmap rows that are empty or fully dense, and a weight with no nonzeros', async () => {
    for (const [build, cols] of [[csr, 33], [bitmap, 37]] as [Build, number][]) {
      const empty = new Float32Array(9 * cols);
      const full = randomDense(6 * cols, 3);
      const mixed = randomSparse(20, cols, 0.5, 4);
      for (let c = 0; c < cols; c++) mixed[5 * cols + c] = 0;
      assert.ok(await check([9, 6, 20], cols, [1], (_r, i) => ({ w: [empty, full, mixed][i], build }), false), `${cols} columns`);
    }
  });

  it('falls back to one product per weight for several rows, mixed formats, BSR and 1:4', async () => {
    const cols = 32;
    assert.equal(await check([8, 4], cols, [3], (r, i) => ({ w: randomDense(r * cols, i), build: dense }), true), false);
    assert.equal(await check([8, 4], cols, [2, 2], (r, i) => ({ w: randomSparse(r, cols, 0.3, i), build: csr }), false), false);
    assert.equal(await check([8, 4], cols, [1], (r, i) => ({ w: i ? randomSparse(r, cols, 0.3, i) : randomDense(r * cols, i), build: i ? csr : dense }), false), false);
    const bsr: Build = (w, r, c, b) => BsrMatrix.fromDense(w, r, c, 4, 4, b);
    assert.equal(await check([8, 4], cols, [1], (r, i) => ({ w: randomDense(r * cols, i), build: bsr }), false), false);
    const nm14: Build = (w, r, c, b) => NmMatrix.fromDense(w, r, c, 1, 4, b);
    assert.equal(await check([8, 4], cols, [1], (r, i) => ({ w: randomNmDense(r, cols, 1, 4, i), build: nm14 }), false), false);
  });

  /** The kernels the thread pool runs during linearGroup(x, weights) (no biases: only the products). */
  function groupKernels(x: Tensor, weights: LinearWeight[]): string[] {
    const spy = mock.method(cpu().pool, 'run');
    try {
      linearGroup(x, weights).forEach((y) => y.dispose());
      return spy.mock.calls.map((c) => c.arguments[0]);
    } finally {
      spy.mock.restore();
    }
  }

  it('runs bitmap q/k/v and gate/up groups as one job of bitmap_spmv_group, bitwise equal to linear() per weight', async () => {
    const cases: [number[], number][] = [
      [[256, 64, 64], 768],
      [[384, 384], 100],
      [[13, 5, 5], 8],
      [[64, 16, 16], 40],
      [[37, 41], 96],
      [[1, 0, 7], 772],
      [[3, 2, 1], 1],
      [[2, 5], 65536],
    ];
    for (const [rowsList, cols] of cases) {
      const make = (r: number, i: number) => ({ w: randomSparse(r, cols, [0.5, 0.3, 0.7][i], r + 13 * i + cols), build: bitmap });
      for (const [lead, withBias] of [[[1], false], [[], true], [[1, 1], false]] as [number[], boolean][]) {
        assert.ok(await check(rowsList, cols, lead, make, withBias), `bitmap ${rowsList} x ${cols} (x [${lead}, ${cols}]) grouped`);
      }
      const x = tensor(randomDense(cols, 5), [1, cols], 'f32', cpu());
      const weights = rowsList.map((r, i) => bitmap(make(r, i).w, r, cols, cpu()));
      assert.deepEqual(groupKernels(x, weights), ['bitmap_spmv_group'], `bitmap ${rowsList} x ${cols}: one job`);
      for (const w of [x, ...weights]) w.dispose();
    }
  });


  it('falls back to one product per weight for mixed bitmap groups, several rows and bitmaps wider than the staging area', async () => {
    const cols = 64;
    const mixedCsr = (r: number, i: number) => ({ w: randomSparse(r, cols, 0.4, 50 + i), build: i === 1 ? csr : bitmap });
    assert.equal(await check([256, 64, 64], cols, [1], mixedCsr, false), false, 'bitmap + csr + bitmap');
    assert.equal(await check([32, 32], cols, [1], (r, i) => ({ w: randomSparse(r, cols, 0.4, 60 + i), build: i === 0 ? csr : bitmap }), true), false, 'csr + bitmap');
    assert.equal(await check([16, 8], cols, [1], (r, i) => ({ w: randomSparse(r, cols, 0.4, 70 + i), build: i === 0 ? bitmap : dense }), false), false, 'bitmap + dense');
    assert.equal(await check([16, 8, 8], cols, [3], (r, i) => ({ w: randomSparse(r, cols, 0.4, 80 + i), build: bitmap }), false), false, 'three activation rows');
    assert.equal(await check([3, 2], 65537, [1], (r, i) => ({ w: randomSparse(r, 65537, 0.1, 90 + i), build: bitmap }), false), false, 'wider than the staging area');
    // The mixed group runs each weight's own kernel: bitmap_spmv, csr_spmv_staged, bitmap_spmv.
    const x = tensor(randomDense(cols, 6), [1, cols], 'f32', cpu());
    const weights = [16, 8, 8].map((r, i) => mixedCsr(r, i).build(mixedCsr(r, i).w, r, cols, cpu()));
    assert.deepEqual(groupKernels(x, weights), ['bitmap_spmv', 'csr_spmv_staged', 'bitmap_spmv']);
    for (const w of [x, ...weights]) w.dispose();
  });

  it('rejects a weight whose input size differs, naming it', () => {
    const x = tensor(randomDense(16, 1), [1, 16], 'f32', cpu());
    const good = tensor(randomDense(4 * 16, 2), [4, 16], 'f32', cpu());
    const bad = tensor(randomDense(4 * 15, 3), [4, 15], 'f32', cpu());
    assert.throws(() => linearGroup(x, [good, bad]), (e: unknown) => e instanceof ShapeError && /expects 15/.test(e.message));
  });
});

function groupedOf(w: LinearWeight): Parameters<CpuBackend['linearGroup']>[1][number] {
  if (w instanceof CsrMatrix) return { format: 'csr', weight: w };
  if (w instanceof BitmapMatrix) return { format: 'bitmap', weight: w };
  if (w instanceof NmMatrix) return { format: 'nm', weight: w };
  if (w instanceof BsrMatrix) return { format: 'bsr', weight: w };
  return { format: 'dense', weight: w as Tensor };
}
