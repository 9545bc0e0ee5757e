/**
 * The bitmap weight kernels of the CPU backend against linearBitmapReference on random inputs, in
 * every kernel build (baseline and relaxed SIMD, one and three threads): batch 1 through
 * bitmap_spmv (four rows a quarter of the partition apart, then the leftover rows), several rows
 * through bitmap_spmm (columns decoded per block of rows into thread scratch), > 65536 columns
 * through bitmap_columns and the CSR kernels.
 * Error measure: norm-wise relative error (test/helpers/numeric.ts), bound 1e-5.
 */
import assert from 'node:assert/strict';
import { it, mock } from 'node:test';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { linearBitmapReference } from '../../src/backends/cpu/reference/sparse-linear.js';
import { tensor } from '../../src/core/ops.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { linear } from '../../src/sparse/linear.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';
import { assertClose } from '../helpers/numeric.js';
import { randomArray } from '../helpers/random.js';
import { randomSparse } from '../sparse/helpers.js';

const TOLERANCE = 1e-5;
/** bitmap_spmv stages x in 65536 floats; wider weights take the i32-index CSR kernels at batch 1 too. */
const STAGING_COLS = 65536;

interface KernelCall {
  kernel: string;
  bounds: number[];
}

/** Runs f, recording every kernel the backend's thread pool ran meanwhile (name and partition bounds). */
function recordKernels<T>(cpu: CpuBackend, f: () => T): { result: T; calls: KernelCall[] } {
  const spy = mock.method(cpu.pool, 'run');
  try {
    const result = f();
    return { result, calls: spy.mock.calls.map((c) => ({ kernel: c.arguments[0], bounds: [...c.arguments[2]] })) };
  } finally {
    spy.mock.restore();
  }
}

/** A [rows, cols] matrix with every row in `emptyRows` zero and the others nonzero with probability `density`. */
function weightData(rows: number, cols: number, density: number, seed: number, emptyRows: number[] = []): Float32Array {
  const data = randomSparse(rows, cols, density, seed);
  for (const r of emptyRows) data.fill(0, r * cols, (r + 1) * cols);
  return data;
}

describeKernelBuilds('Bitmap kernels', (cpu) => {
  it('match linearBitmapReference at batch 1, 3, 17 and 20 for awkward shapes, empty and full rows, and > 65536 columns', () => {
    const cases: [string, number, number, Float32Array][] = [
      ['1 x 1', 1, 1, weightData(1, 1, 1, 1)],
      ['1 x 8', 1, 8, weightData(1, 8, 0.5, 2)],
      ['13 x 1000', 13, 1000, weightData(13, 1000, 0.5, 3)],
      ['37 x 13', 37, 13, weightData(37, 13, 0.3, 4)],
      ['70 x 64', 70, 64, weightData(70, 64, 0.5, 5)],
      ['5 x 9', 5, 9, weightData(5, 9, 0.7, 6)],
      ['260 x 768', 260, 768, weightData(260, 768, 0.5, 7)],
      ['263 x 768', 263, 768, weightData(263, 768, 0.3, 8)],
      ['40 x 129 with empty rows', 40, 129, weightData(40, 129, 0.5, 9, [0, 5, 17, 18, 39])],
      ['9 x 1023, one value per row in the last column', 9, 1023, Float32Array.from({ length: 9 * 1023 }, (_, i) => (i % 1023 === 1022 ? i / 1000 + 1 : 0))],
      ['fully dense 64 x 100', 64, 100, weightData(64, 100, 1, 10)],
      ['fully dense 8 x 4096', 8, 4096, weightData(8, 4096, 1, 11)],
      ['fully empty 33 x 70', 33, 70, weightData(33, 70, 0, 12)],
      ['0 x 16', 0, 16, new Float32Array(0)],
      ['700 x 1024 at 90% density (more columns than one scratch block of bitmap_spmm)', 700, 1024, weightData(700, 1024, 0.9, 15)],
      ['2 x 65536 (the staging limit)', 2, 65536, weightData(2, 65536, 0.2, 13)],
      ['3 x 70000 (i32 columns)', 3, 70000, weightData(3, 70000, 0.3, 14)],
    ];
    let fourRowPath = false;
    let leftoverPath = false;
    for (const [name, rows, cols, data] of cases) {
      const w = BitmapMatrix.fromDense(data, rows, cols, cpu());
      const arrays = w.readArraysSync();
      for (const M of [1, 3, 17, 20]) {
        const xData = randomArray(M * cols, M * 1000 + rows);
        const x = tensor(xData, [M, cols], 'f32', cpu());
        const { result: y, calls } = recordKernels(cpu(), () => linear(x, w));
        assert.deepEqual(y.shape, [M, rows], `${name} batch ${M}: shape`);
        assertClose(y.readSync(), linearBitmapReference(xData, M, arrays), TOLERANCE, `bitmap ${name} batch ${M}`);
        const kernels = calls.map((c) => c.kernel);
        const what = `${name} batch ${M}: kernels ${kernels.join(', ')}`;
        if (rows === 0) assert.deepEqual(kernels, [], what);
        else if (M === 1 && cols <= STAGING_COLS) {
          assert.deepEqual(kernels, ['bitmap_spmv'], what);
          for (let p = 0; p + 1 < calls[0].bounds.length; p++) {
            const n = calls[0].bounds[p + 1] - calls[0].bounds[p];
            fourRowPath ||= n >= 4;
            leftoverPath ||= n % 4 !== 0;
          }
        } else if (M === 1) assert.deepEqual(kernels, ['bitmap_columns', 'csr_spmv_i32'], what);
        else if (cols <= STAGING_COLS) assert.deepEqual(kernels, ['pack_x_tiles16', 'bitmap_spmm'], what);
        else assert.deepEqual(kernels, ['bitmap_columns', 'pack_x_tiles16', 'csr_spmm_i32'], what);
        x.dispose();
        y.dispose();
      }
      w.dispose();
    }
    assert.ok(fourRowPath, 'some batch-1 partition ran the four-rows-a-quarter-apart loop');
    assert.ok(leftoverPath, 'some batch-1 partition had leftover rows');
  });

  it('place every kept value of every mask byte pattern exactly: unit vectors give the weight\'s columns bitwise', () => {
    // Row r's three mask bytes are r, a scramble of r and 255 - r: all 256 patterns at every byte,
    // each followed by another pattern (the value pointer's advance). With x = e_c every output
    // is one product with 1 plus zeros, so the kernels must return column c of W exactly; a
    // tolerance would miss a shuffle that drops a value's low mantissa byte.
    const [rows, cols] = [256, 24];
    const data = randomArray(rows * cols, 50);
    for (let r = 0; r < rows; r++) {
      const bytes = [r, (r * 37 + 11) & 255, 255 - r];
      for (let c = 0; c < cols; c++) if (!((bytes[c >> 3] >> (c & 7)) & 1)) data[r * cols + c] = 0;
    }
    const w = BitmapMatrix.fromDense(data, rows, cols, cpu());
    const column = (c: number) => Float32Array.from({ length: rows }, (_, r) => data[r * cols + c]);
    for (let c = 0; c < cols; c++) {
      const e = new Float32Array(cols);
      e[c] = 1;
      const x = tensor(e, [1, cols], 'f32', cpu());
      const { result: y, calls } = recordKernels(cpu(), () => linear(x, w));
      assert.deepEqual(calls.map((k) => k.kernel), ['bitmap_spmv']);
      assert.deepEqual(y.readSync(), column(c), `batch 1, column ${c}`);
      x.dispose();
      y.dispose();
    }
    // All unit vectors at once: the batched path over the decoded column indices, W^T exactly.
    const identity = new Float32Array(cols * cols);
    for (let c = 0; c < cols; c++) identity[c * cols + c] = 1;
    const x = tensor(identity, [cols, cols], 'f32', cpu());
    const y = linear(x, w).readSync() as Float32Array;
    for (let c = 0; c < cols; c++) assert.deepEqual(y.subarray(c * rows, (c + 1) * rows), column(c), `batch ${cols}, column ${c}`);
    x.dispose();
    w.dispose();
  });

  it('give bitwise the same batch-1 results for a weight built from dense, from CSR and from parts, and match the batched path per row', async () => {
    const [rows, cols] = [45, 300];
    const data = weightData(rows, cols, 0.4, 21);
    const a = BitmapMatrix.fromDense(data, rows, cols, cpu());
    const parts = a.readArraysSync();
    const csr = CsrMatrix.fromDense(data, rows, cols, cpu());
    const weights = [a, BitmapMatrix.fromParts(rows, cols, parts.mask, parts.values, cpu()), await BitmapMatrix.fromCsr(csr)];
    const xData = randomArray(3 * cols, 22);
    const x1 = tensor(xData.subarray(0, cols), [cols], 'f32', cpu());
    const [ya, yb, yc] = weights.map((w) => linear(x1, w));
    assert.deepEqual(ya.shape, [rows]);
    assert.deepEqual(yb.readSync(), ya.readSync(), 'fromParts');
    assert.deepEqual(yc.readSync(), ya.readSync(), 'fromCsr');
    // Three rows at once (the CSR kernels over decoded columns) against three single rows.
    const x3 = tensor(xData, [3, cols], 'f32', cpu());
    const y3 = linear(x3, a);
    for (let m = 0; m < 3; m++) {
      const xm = tensor(xData.subarray(m * cols, (m + 1) * cols), [1, cols], 'f32', cpu());
      const ym = linear(xm, a);
      assertClose((y3.readSync() as Float32Array).subarray(m * rows, (m + 1) * rows), ym.readSync(), TOLERANCE, `row ${m}`);
      xm.dispose();
      ym.dispose();
    }
    for (const t of [x1, x3, ya, yb, yc, y3, csr, ...weights]) t.dispose();
  });

  it('read no further than the heap keeps readable when a weight\'s values are the last block of the heap', () => {
    // bitmap_spmv loads 32 bytes from a row's value pointer: for the last mask byte of the last
    // row (one kept value) that is 28 bytes past the last value. Make the values block the top
    // block of the heap, ending first flush with the end of memory as it stands (the heap must
    // then grow to keep bytes readable past it), then 64 bytes before it (the heap's read slack:
    // no growth), and run the kernel: it must not trap.
    const heap = cpu().heap;
    const top = () => (heap as unknown as { top: number }).top;
    assert.equal(typeof top(), 'number', 'the heap keeps its bump pointer in `top`');
    for (const rows of [3, 4]) {
      for (const gap of [0, 64]) {
        // rows - 1 full rows, then a row with one kept value per mask byte: nnz a multiple of 1024,
        // so the values fill a whole number of the heap's 4 KiB grains.
        const cols = 8192;
        const data = weightData(rows, cols, 1, 30 + rows);
        for (let c = 0; c < cols; c++) if (c % 8 !== 0) data[(rows - 1) * cols + c] = 0;
        const nnz = (rows - 1) * cols + cols / 8;
        const valueBytes = 4 * nnz;
        assert.equal(valueBytes % 4096, 0);
        const xData = randomArray(cols, 40 + rows);
        const x = tensor(xData, [1, cols], 'f32', cpu());
        const held: number[] = [];
        // Blocks for rowPtr, y (64 B) and the mask (4 KiB), freed just before the weight is built so that those come from the free lists.
        const primers = [heap.alloc(64), heap.alloc(64), heap.alloc(4096)];
        // No free block may take the values: allocate blocks of their size until one comes from the top, then give that one back.
        for (;;) {
          const before = top();
          const b = heap.alloc(valueBytes);
          if (b === before) {
            heap.free(b);
            break;
          }
          held.push(b);
        }
        const pages = Math.ceil(Math.max(0, top() + valueBytes + gap - heap.memory.buffer.byteLength) / 65536);
        if (pages > 0) heap.memory.grow(pages);
        const target = heap.memory.buffer.byteLength - gap - valueBytes;
        // Fill up to `target` with blocks of exact sizes (4 KiB multiples from 64 KiB, powers of two below).
        while (top() < target) {
          const rest = target - top();
          held.push(heap.alloc(rest >= 65536 ? Math.floor(rest / 4096) * 4096 : 2 ** Math.floor(Math.log2(rest))));
        }
        assert.equal(top(), target);
        for (const p of primers) heap.free(p);
        const w = BitmapMatrix.fromDense(data, rows, cols, cpu());
        assert.equal(w.nnz, nnz);
        const valuesEnd = cpu().offsetOf(w.values) + valueBytes;
        assert.equal(valuesEnd, target + valueBytes, 'the values are the top block');
        const end = heap.memory.buffer.byteLength;
        if (gap > 0) assert.equal(end, valuesEnd + gap, `the values end ${gap} bytes before the end of memory`);
        const { result: y, calls } = recordKernels(cpu(), () => linear(x, w));
        assert.deepEqual(
          calls.map((c) => c.kernel),
          ['bitmap_spmv'],
        );
        assert.equal(heap.memory.buffer.byteLength, end, 'the memory did not grow between building the weight and running the kernel');
        assertClose(y.readSync(), linearBitmapReference(xData, 1, w.readArraysSync()), TOLERANCE, `${rows} x ${cols}, values ending ${end - valuesEnd} bytes before the end of memory`);
        y.dispose();
        w.dispose();
        x.dispose();
        for (const b of held) heap.free(b);
      }
    }
  });

  it('give zeros for a weight with no columns (bitmap and CSR alike)', () => {
    for (const M of [1, 3]) {
      for (const make of [BitmapMatrix.fromDense, CsrMatrix.fromDense]) {
        // Leave nonzero garbage in freed blocks of the output's size class first.
        for (let i = 0; i < 4; i++) tensor(new Float32Array(16).fill(7), [16], 'f32', cpu()).dispose();
        const w = make(new Float32Array(0), 4, 0, cpu());
        const x = tensor(new Float32Array(0), [M, 0], 'f32', cpu());
        const y = linear(x, w);
        assert.deepEqual([...y.readSync()], new Array(4 * M).fill(0), `batch ${M}, ${w}`);
        for (const t of [w, x, y]) t.dispose();
      }
    }
  });
});
