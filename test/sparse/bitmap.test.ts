import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Backend } from '../../src/core/backend.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { Mask } from '../../src/sparse/mask.js';
import { cpuBackend } from '../helpers/cpu.js';
import { countNonzero, FC, randomSparse, sameBits } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

/**
 * Shapes for the bitmap: 0 rows or 0 columns, one column, column counts on and off multiples of
 * 8 (the mask's byte boundary), and densities from fully empty to fully dense.
 */
const bitmapMatrixArb = fc.record({
  rows: fc.integer({ min: 0, max: 12 }),
  cols: fc.oneof(fc.constantFrom(0, 1, 7, 8, 9, 15, 16, 17, 64), fc.integer({ min: 1, max: 40 })),
  density: fc.constantFrom(0, 0.05, 0.2, 0.5, 0.9, 1),
  seed: fc.integer(),
});

function popcount8(b: number): number {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}

/**
 * Everything a bitmap matrix must satisfy, checked on the arrays read back from the backend:
 * `kept` says which positions are stored (the nonzeros of data, or a mask's positions).
 */
async function checkBitmap(bm: BitmapMatrix, data: Float32Array, rows: number, cols: number, kept: (i: number) => boolean = (i) => data[i] !== 0): Promise<void> {
  const rowBytes = Math.ceil(cols / 8);
  const { rows: r0, cols: c0, rowPtr, mask, values } = await bm.readArrays();
  assert.equal(r0, rows);
  assert.equal(c0, cols);
  assert.ok(rowPtr instanceof Int32Array && mask instanceof Uint8Array && values instanceof Float32Array, 'part types');
  assert.equal(bm.rowPtr.dtype, 'i32');
  assert.equal(bm.mask.dtype, 'u8');
  assert.equal(bm.values.dtype, 'f32');
  assert.deepEqual(bm.rowPtr.shape, [rows + 1]);
  assert.deepEqual(bm.mask.shape, [rows, rowBytes]);
  assert.deepEqual(bm.values.shape, [bm.nnz]);
  assert.equal(rowPtr.length, rows + 1);
  assert.equal(mask.length, rows * rowBytes);
  assert.equal(rowPtr[0], 0);
  assert.equal(rowPtr[rows], bm.nnz);
  assert.equal(values.length, bm.nnz);
  let storedCount = 0;
  for (let i = 0; i < rows * cols; i++) if (kept(i)) storedCount++;
  assert.equal(bm.nnz, storedCount);
  for (let r = 0; r < rows; r++) {
    let bits = 0;
    for (let p = 0; p < rowBytes; p++) bits += popcount8(mask[r * rowBytes + p]);
    assert.equal(rowPtr[r + 1] - rowPtr[r], bits, `row ${r}: rowPtr step equals its mask's set bits`);
    if (cols % 8 !== 0) assert.equal(mask[r * rowBytes + rowBytes - 1] >>> cols % 8, 0, `row ${r}: padding bits clear`);
    let k = rowPtr[r];
    for (let c = 0; c < cols; c++) {
      const bit = (mask[r * rowBytes + (c >>> 3)] >>> (c & 7)) & 1;
      assert.equal(bit === 1, kept(r * cols + c), `row ${r} column ${c}: mask bit`);
      if (bit) assert.ok(Object.is(values[k++], data[r * cols + c]), `row ${r} column ${c}: value in column order`);
    }
  }
  const dense = Float32Array.from(data, (v, i) => (kept(i) ? v : 0));
  assert.ok(sameBits(await bm.toDense(), dense), 'dense -> bitmap -> dense is the identity');
  assert.ok(sameBits(bm.toDenseSync(), dense), 'toDenseSync');
  const sync = bm.readArraysSync();
  assert.deepEqual([sync.rowPtr, sync.mask, sync.values], [rowPtr, mask, values], 'readArraysSync = readArrays');
  assert.equal(bm.bytes(), 4 * (rows + 1) + rows * rowBytes + 4 * bm.nnz);
  assert.equal(bm.denseBytes(), 4 * rows * cols);
  assert.equal(bm.density(), rows * cols === 0 ? 0 : countNonzero(dense) / (rows * cols));
  assert.equal(bm.sparsity(), 1 - bm.density());
  assert.ok((await bm.toMask()).equals(Mask.fromPredicate([rows, cols], kept)), 'toMask gives the stored positions');
}

/** The parts of two CSR matrices, as read back. */
async function assertSameCsr(got: CsrMatrix, want: CsrMatrix, what: string): Promise<void> {
  const [a, b] = await Promise.all([got.readArrays(), want.readArrays()]);
  assert.equal(got.colIndices.dtype, want.colIndices.dtype, `${what}: index dtype`);
  assert.deepEqual([a.rows, a.cols, got.nnz], [b.rows, b.cols, want.nnz], `${what}: shape and nnz`);
  assert.deepEqual(a.rowPtr, b.rowPtr, `${what}: rowPtr`);
  assert.deepEqual(a.colIndices, b.colIndices, `${what}: colIndices`);
  assert.ok(sameBits(a.values, b.values), `${what}: values`);
}

describe('BitmapMatrix', () => {
  it('round-trips dense -> bitmap -> dense over random shapes and densities, with its invariants', async () => {
    await fc.assert(
      fc.asyncProperty(bitmapMatrixArb, async ({ rows, cols, density, seed }) => {
        const data = randomSparse(rows, cols, density, seed);
        const bm = BitmapMatrix.fromDense(data, rows, cols, backend);
        await checkBitmap(bm, data, rows, cols);
        bm.dispose();
      }),
      FC,
    );
  });

  it('handles the edge shapes: 1 x 1, one row, one column, empty rows, fully dense, fully empty, 0 rows, 0 columns', async () => {
    const cases: [string, Float32Array, number, number][] = [
      ['1 x 1 nonzero', new Float32Array([3]), 1, 1],
      ['1 x 1 zero', new Float32Array([0]), 1, 1],
      ['one row of 7', new Float32Array([0, 2, 0, 0, -1, 0, 5]), 1, 7],
      ['one row of 8', new Float32Array([1, 0, 0, 0, 0, 0, 0, 2]), 1, 8],
      ['one column', new Float32Array([0, 2, 0, 4]), 4, 1],
      ['empty rows', new Float32Array([0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3]), 4, 3],
      ['fully dense 5 x 6', randomSparse(5, 6, 1, 1), 5, 6],
      ['fully dense 3 x 16', randomSparse(3, 16, 1, 2), 3, 16],
      ['fully empty', new Float32Array(5 * 6), 5, 6],
      ['7 x 13', randomSparse(7, 13, 0.3, 2), 7, 13],
      ['0 x 4', new Float32Array(0), 0, 4],
      ['3 x 0', new Float32Array(0), 3, 0],
      ['0 x 0', new Float32Array(0), 0, 0],
    ];
    for (const [name, data, rows, cols] of cases) {
      const bm = BitmapMatrix.fromDense(data, rows, cols, backend);
      await checkBitmap(bm, data, rows, cols).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
      bm.dispose();
    }
    const empty = BitmapMatrix.fromDense(new Float32Array(12), 4, 3, backend);
    assert.deepEqual([...(await empty.readArrays()).rowPtr], [0, 0, 0, 0, 0]);
    assert.deepEqual([...(await empty.readArrays()).mask], [0, 0, 0, 0]);
    assert.equal(empty.nnz, 0);
    assert.equal(empty.density(), 0);
    assert.equal(empty.sparsity(), 1);
    const full = BitmapMatrix.fromDense(new Float32Array(2 * 11).fill(1), 2, 11, backend);
    assert.equal(full.density(), 1);
    assert.equal(full.sparsity(), 0);
    assert.deepEqual([...(await full.readArrays()).rowPtr], [0, 11, 22]);
    assert.deepEqual([...(await full.readArrays()).mask], [0xff, 0x07, 0xff, 0x07], 'no bit past column 10');
  });

  it('stores the exact layout for a small 2 x 10 example', async () => {
    // [[1, 0, 0, 2, 0, 0, 0, 0, 3, 0],
    //  [0, 0, 0, 0, 0, 0, 0, 4, 0, 5]]
    const data = new Float32Array([1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 5]);
    const bm = BitmapMatrix.fromDense(data, 2, 10, backend);
    const { rowPtr, mask, values } = await bm.readArrays();
    // Row 0: columns 0 and 3 (byte 0, bits 0 and 3), column 8 (byte 1, bit 0). Row 1: column 7 (byte 0, bit 7), column 9 (byte 1, bit 1).
    assert.deepEqual([...mask], [0b0000_1001, 0b0000_0001, 0b1000_0000, 0b0000_0010]);
    assert.deepEqual([...rowPtr], [0, 3, 5]);
    assert.deepEqual([...values], [1, 2, 3, 4, 5]);
    assert.equal(bm.nnz, 5);
    assert.equal(bm.bytes(), 4 * 3 + 2 * 2 + 4 * 5);
    assert.equal(bm.density(), 5 / 20);
    assert.equal(bm.sparsity(), 15 / 20);
    assert.match(bm.toString(), /BitmapMatrix\(2 x 10, nnz 5/);
    // The same parts through fromParts give the same matrix.
    const again = BitmapMatrix.fromParts(2, 10, new Uint8Array([0x09, 0x01, 0x80, 0x02]), [1, 2, 3, 4, 5], backend);
    assert.ok(sameBits(await again.toDense(), data));
    assert.deepEqual([...(await again.readArrays()).rowPtr], [0, 3, 5]);
  });

  it('bytes() is 4 (rows + 1) + rows ceil(cols / 8) + 4 nnz: at 50% below both CSR and dense', () => {
    const data = randomSparse(64, 100, 0.5, 5);
    const bm = BitmapMatrix.fromDense(data, 64, 100, backend);
    const csr = CsrMatrix.fromDense(data, 64, 100, backend);
    assert.equal(bm.bytes(), 4 * 65 + 64 * 13 + 4 * bm.nnz);
    assert.equal(bm.nnz, csr.nnz);
    assert.ok(bm.bytes() < csr.bytes(), `${bm.bytes()} < ${csr.bytes()}`);
    assert.ok(bm.bytes() < bm.denseBytes(), `${bm.bytes()} < ${bm.denseBytes()}`);
    bm.dispose();
    csr.dispose();
  });

  it('with a mask keeps exactly the masked positions, zeros included, and toMask gives the mask back', async () => {
    await fc.assert(
      fc.asyncProperty(bitmapMatrixArb, fc.integer(), async ({ rows, cols, density, seed }, maskSeed) => {
        const data = randomSparse(rows, cols, density, seed);
        const mask = Mask.fromDense(randomSparse(rows, cols, 0.5, maskSeed), [rows, cols]);
        const bm = BitmapMatrix.fromDense(data, rows, cols, backend, mask);
        assert.equal(bm.nnz, mask.count());
        assert.ok((await bm.toMask()).equals(mask));
        assert.ok(sameBits(await bm.toDense(), mask.apply(data)));
        assert.equal(bm.density(), rows * cols === 0 ? 0 : countNonzero(mask.apply(data)) / (rows * cols));
        await checkBitmap(bm, data, rows, cols, (i) => mask.get(i));
        bm.dispose();
      }),
      FC,
    );
    // Explicit zeros: a mask over an all-zero matrix stores every masked position.
    const zeros = BitmapMatrix.fromDense(new Float32Array(6), 2, 3, backend, Mask.ones([2, 3]));
    assert.equal(zeros.nnz, 6);
    assert.equal(zeros.density(), 0, 'explicit zeros are stored but are not nonzeros');
    assert.deepEqual([...(await zeros.readArrays()).mask], [0b111, 0b111]);
    assert.deepEqual([...(await zeros.readArrays()).values], [0, 0, 0, 0, 0, 0]);
  });

  it('fromCsr and toCsr round-trip the parts exactly, explicit zeros and i32 indices included', async () => {
    await fc.assert(
      fc.asyncProperty(bitmapMatrixArb, fc.boolean(), fc.integer(), async ({ rows, cols, density, seed }, masked, maskSeed) => {
        const data = randomSparse(rows, cols, density, seed);
        const mask = masked ? Mask.fromDense(randomSparse(rows, cols, 0.5, maskSeed), [rows, cols]) : undefined;
        const csr = CsrMatrix.fromDense(data, rows, cols, backend, mask);
        const bm = await BitmapMatrix.fromCsr(csr);
        assert.equal(bm.backend, csr.backend);
        const direct = BitmapMatrix.fromDense(data, rows, cols, backend, mask);
        const [a, b] = await Promise.all([bm.readArrays(), direct.readArrays()]);
        assert.deepEqual([a.rowPtr, a.mask], [b.rowPtr, b.mask], 'fromCsr = fromDense');
        assert.ok(sameBits(a.values, b.values));
        const back = await bm.toCsr();
        await assertSameCsr(back, csr, `${rows} x ${cols}`);
        for (const m of [csr, bm, direct, back]) m.dispose();
      }),
      FC,
    );
    const data = new Float32Array(2 * 70000);
    data[0] = 1;
    data[69999] = 2;
    data[70000 + 65536] = 3;
    data[70000 + 65537] = 0; // an explicit zero, through the mask below
    const mask = Mask.fromDense(data, [2, 70000]).set(70000 + 65537);
    const csr = CsrMatrix.fromDense(data, 2, 70000, backend, mask);
    assert.equal(csr.colIndices.dtype, 'i32');
    const bm = await BitmapMatrix.fromCsr(csr);
    assert.equal(bm.nnz, 4);
    const back = await bm.toCsr();
    await assertSameCsr(back, csr, '2 x 70000');
    assert.deepEqual([...(await back.readArrays()).colIndices], [0, 69999, 65536, 65537]);
    for (const m of [csr, bm, back]) m.dispose();
  });

  it('fromParts accepts valid parts (copying the mask) and rejects bad ones with clear messages', async () => {
    const maskBytes = new Uint8Array([0b101, 0b010]);
    const bm = BitmapMatrix.fromParts(2, 3, maskBytes, [1, 2, 3], backend);
    maskBytes[0] = 0;
    assert.deepEqual([...(await bm.toDense())], [1, 0, 2, 0, 3, 0], 'later changes to the caller array do not reach the matrix');
    assert.deepEqual([...(await bm.readArrays()).rowPtr], [0, 2, 3]);
    const zero = BitmapMatrix.fromParts(1, 3, new Uint8Array([0b011]), new Float32Array([0, 5]), backend);
    assert.equal(zero.nnz, 2);
    assert.equal(zero.density(), 1 / 3);
    assert.equal(BitmapMatrix.fromParts(2, 2, new Uint8Array(2), [], backend).nnz, 0);
    assert.equal(BitmapMatrix.fromParts(0, 5, new Uint8Array(0), [], backend).nnz, 0);
    assert.equal(BitmapMatrix.fromParts(3, 0, new Uint8Array(0), [], backend).nnz, 0);

    const bad = (f: () => unknown, type: typeof ShapeError | typeof ArgumentError, pattern: RegExp) =>
      assert.throws(f, (e: unknown) => e instanceof type && pattern.test((e as Error).message), String(pattern));
    const make = (rows: number, cols: number, mask: number[], values: number[]) => () => BitmapMatrix.fromParts(rows, cols, new Uint8Array(mask), values, backend);
    bad(make(2, 10, [0, 0, 0], []), ShapeError, /BitmapMatrix\.fromParts: mask has 3 elements, expected 4/);
    bad(make(2, 10, [0, 0, 0, 0, 0], []), ShapeError, /mask has 5 elements, expected 4/);
    bad(make(1, 8, [], []), ShapeError, /mask has 0 elements, expected 1/);
    bad(make(2, 10, [0, 0, 0, 0b100], [1]), ArgumentError, /row 1 marks columns at or past 10 \(padding bits of its last mask byte must be 0\)/);
    bad(make(1, 1, [0b10], [1]), ArgumentError, /row 0 marks columns at or past 1/);
    bad(make(1, 7, [0x80], [1]), ArgumentError, /row 0 marks columns at or past 7/);
    bad(make(2, 3, [0b111, 0b001], [1, 2, 3]), ArgumentError, /the mask marks 4 weights but 3 values were given/);
    bad(make(2, 3, [0b001, 0], [1, 2]), ArgumentError, /the mask marks 1 weights but 2 values were given/);
    bad(make(-1, 3, [], []), ShapeError, /non-negative integers/);
    bad(make(2, -8, [], []), ShapeError, /non-negative integers/);
    bad(make(1.5, 8, [0], []), ShapeError, /non-negative integers/);
    assert.throws(() => BitmapMatrix.fromDense(new Float32Array(5), 2, 3, backend), (e: unknown) => e instanceof ShapeError && /5 values do not fill a 2 x 3/.test((e as Error).message));
    assert.throws(() => BitmapMatrix.fromDense(new Float32Array(6), 2, 3, backend, Mask.zeros([3, 2])), (e: unknown) => e instanceof ShapeError && /mask shape \[3, 2\]/.test((e as Error).message));
    assert.throws(() => BitmapMatrix.fromDense(new Float32Array(0), -1, 0, backend), ShapeError);
  });

  it('fromTensor and toTensor go through the backend', async () => {
    const data = randomSparse(6, 9, 0.3, 11);
    const t = tensor(data, [6, 9], 'f32', backend);
    const bm = await BitmapMatrix.fromTensor(t);
    assert.equal(bm.backend, backend);
    assert.ok(sameBits(await bm.toDense(), data));
    const back = await bm.toTensor();
    assert.deepEqual(back.shape, [6, 9]);
    assert.ok(sameBits((await back.read()) as Float32Array, data));
    const mask = Mask.fromDense(randomSparse(6, 9, 0.5, 12), [6, 9]);
    const masked = await BitmapMatrix.fromTensor(t, mask);
    assert.ok((await masked.toMask()).equals(mask));
    await assert.rejects(BitmapMatrix.fromTensor(tensor(data, [54], 'f32', backend)), ShapeError);
    await assert.rejects(BitmapMatrix.fromTensor(tensor(new Int32Array(4), [2, 2], 'i32', backend)), ArgumentError);
  });

  it('dispose() frees the parts', async () => {
    const bm = BitmapMatrix.fromDense(new Float32Array([1, 0, 2, 0]), 2, 2, backend);
    const bytes = bm.bytes();
    bm.dispose();
    assert.ok(bm.disposed);
    assert.equal(bm.bytes(), bytes, 'bytes() stays known');
    await assert.rejects(bm.toDense(), /after dispose/);
    bm.dispose();
  });
});
