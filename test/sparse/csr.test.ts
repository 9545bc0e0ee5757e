import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Backend } from '../../src/core/backend.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { Mask } from '../../src/sparse/mask.js';
import { cpuBackend } from '../helpers/cpu.js';
import { countNonzero, FC, randomSparse, sameBits, sparseMatrixArb } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

/** Everything a CSR matrix must satisfy, checked on the arrays read back from the backend. */
async function checkCsr(csr: CsrMatrix, data: Float32Array, rows: number, cols: number): Promise<void> {
  const { rowPtr, colIndices, values } = await csr.readArrays();
  assert.equal(rowPtr.length, rows + 1);
  assert.equal(rowPtr[0], 0);
  assert.equal(rowPtr[rows], csr.nnz);
  assert.equal(csr.nnz, countNonzero(data));
  assert.equal(colIndices.length, csr.nnz);
  assert.equal(values.length, csr.nnz);
  assert.equal(csr.colIndices.dtype, cols <= 65536 ? 'u16' : 'i32');
  assert.ok(colIndices instanceof (cols <= 65536 ? Uint16Array : Int32Array));
  for (let r = 0; r < rows; r++) {
    assert.ok(rowPtr[r + 1] >= rowPtr[r], 'rowPtr is monotone');
    for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) {
      assert.ok(colIndices[p] >= 0 && colIndices[p] < cols, 'index in range');
      if (p > rowPtr[r]) assert.ok(colIndices[p] > colIndices[p - 1], 'indices strictly ascending');
      assert.equal(values[p], data[r * cols + colIndices[p]]);
    }
  }
  assert.ok(sameBits(await csr.toDense(), data), 'dense -> CSR -> dense is the identity');
  assert.equal(csr.bytes(), rowPtr.byteLength + colIndices.byteLength + values.byteLength);
  assert.equal(csr.density(), rows * cols === 0 ? 0 : countNonzero(data) / (rows * cols));
  assert.equal(csr.sparsity(), 1 - csr.density());
  assert.ok((await csr.toMask()).equals(Mask.fromDense(data, [rows, cols])));
}

describe('CsrMatrix', () => {
  it('round-trips dense -> CSR -> dense over random shapes and densities, with its invariants', async () => {
    await fc.assert(
      fc.asyncProperty(sparseMatrixArb, async ({ rows, cols, density, seed }) => {
        const data = randomSparse(rows, cols, density, seed);
        const csr = CsrMatrix.fromDense(data, rows, cols, backend);
        await checkCsr(csr, data, rows, cols);
        csr.dispose();
      }),
      FC,
    );
  });

  it('handles the edge shapes: 1 x 1, one row, empty rows, fully dense, fully empty, 7 x 13, 0 rows', async () => {
    const cases: [string, Float32Array, number, number][] = [
      ['1 x 1 nonzero', new Float32Array([3]), 1, 1],
      ['1 x 1 zero', new Float32Array([0]), 1, 1],
      ['one row', new Float32Array([0, 2, 0, 0, -1, 0, 5]), 1, 7],
      ['one column', new Float32Array([0, 2, 0, 4]), 4, 1],
      ['empty rows', new Float32Array([0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3]), 4, 3],
      ['fully dense', randomSparse(5, 6, 1, 1), 5, 6],
      ['fully empty', new Float32Array(5 * 6), 5, 6],
      ['7 x 13', randomSparse(7, 13, 0.3, 2), 7, 13],
      ['0 x 4', new Float32Array(0), 0, 4],
      ['3 x 0', new Float32Array(0), 3, 0],
    ];
    for (const [name, data, rows, cols] of cases) {
      const csr = CsrMatrix.fromDense(data, rows, cols, backend);
      await checkCsr(csr, data, rows, cols).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
    }
    const empty = CsrMatrix.fromDense(new Float32Array(12), 4, 3, backend);
    assert.deepEqual([...(await empty.readArrays()).rowPtr], [0, 0, 0, 0, 0]);
    assert.equal(empty.density(), 0);
    assert.equal(empty.sparsity(), 1);
    const full = CsrMatrix.fromDense(new Float32Array(12).fill(1), 4, 3, backend);
    assert.equal(full.density(), 1);
    assert.deepEqual([...(await full.readArrays()).rowPtr], [0, 3, 6, 9, 12]);
  });

  it('stores the exact layout for a small example', async () => {
    // [[0, 1, 0, 2],
    //  [0, 0, 0, 0],
    //  [3, 0, 4, 0]]
    const csr = CsrMatrix.fromDense(new Float32Array([0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0]), 3, 4, backend);
    const { rowPtr, colIndices, values } = await csr.readArrays();
    assert.deepEqual([...rowPtr], [0, 2, 2, 4]);
    assert.deepEqual([...colIndices], [1, 3, 0, 2]);
    assert.deepEqual([...values], [1, 2, 3, 4]);
    assert.equal(csr.nnz, 4);
    assert.equal(csr.bytes(), 4 * 4 + 2 * 4 + 4 * 4);
    assert.deepEqual(csr.rowPtr.shape, [4]);
    assert.equal(csr.rowPtr.dtype, 'i32');
    assert.equal(csr.values.dtype, 'f32');
  });

  it('uses i32 column indices beyond 65536 columns, u16 up to 65536', async () => {
    const data = new Float32Array(2 * 70000);
    data[69999] = 1;
    data[70000 + 65536] = 2;
    data[70000 + 5] = 3;
    const wide = CsrMatrix.fromDense(data, 2, 70000, backend);
    assert.equal(wide.colIndices.dtype, 'i32');
    assert.deepEqual([...(await wide.readArrays()).colIndices], [69999, 5, 65536]);
    assert.ok(sameBits(await wide.toDense(), data));
    const edge = new Float32Array(65536);
    edge[65535] = 7;
    const atLimit = CsrMatrix.fromDense(edge, 1, 65536, backend);
    assert.equal(atLimit.colIndices.dtype, 'u16');
    assert.deepEqual([...(await atLimit.readArrays()).colIndices], [65535]);
    wide.dispose();
    atLimit.dispose();
  });

  it('with a mask keeps exactly the masked positions, zeros included', async () => {
    await fc.assert(
      fc.asyncProperty(sparseMatrixArb, fc.integer(), async ({ rows, cols, density, seed }, maskSeed) => {
        const data = randomSparse(rows, cols, density, seed);
        const mask = Mask.fromDense(randomSparse(rows, cols, 0.5, maskSeed), [rows, cols]);
        const csr = CsrMatrix.fromDense(data, rows, cols, backend, mask);
        assert.equal(csr.nnz, mask.count());
        assert.ok((await csr.toMask()).equals(mask));
        assert.ok(sameBits(await csr.toDense(), mask.apply(data)));
        assert.equal(csr.storedDensity(), mask.density());
        assert.equal(csr.density(), countNonzero(mask.apply(data)) / (rows * cols));
        csr.dispose();
      }),
      FC,
    );
  });

  it('fromTensor and toTensor go through the backend', async () => {
    const data = randomSparse(6, 9, 0.3, 11);
    const t = tensor(data, [6, 9], 'f32', backend);
    const csr = await CsrMatrix.fromTensor(t);
    assert.ok(sameBits(await csr.toDense(), data));
    const back = await csr.toTensor();
    assert.deepEqual(back.shape, [6, 9]);
    assert.ok(sameBits((await back.read()) as Float32Array, data));
    assert.ok(sameBits(csr.toDenseSync(), data));
    await assert.rejects(CsrMatrix.fromTensor(tensor(data, [54], 'f32', backend)), ShapeError);
    await assert.rejects(CsrMatrix.fromTensor(tensor(new Int32Array(4), [2, 2], 'i32', backend)), ArgumentError);
  });

  it('is smaller than dense for sparse inputs', () => {
    const data = randomSparse(64, 64, 0.1, 5);
    const csr = CsrMatrix.fromDense(data, 64, 64, backend);
    assert.ok(csr.bytes() < csr.denseBytes(), `${csr.bytes()} < ${csr.denseBytes()}`);
    assert.equal(csr.bytes(), 4 * 65 + 6 * csr.nnz);
  });

  it('fromParts accepts valid parts and converts the index type by cols', async () => {
    const csr = CsrMatrix.fromParts(3, 4, [0, 2, 2, 4], new Int32Array([1, 3, 0, 2]), [1, 2, 3, 4], backend);
    assert.equal(csr.colIndices.dtype, 'u16');
    assert.deepEqual([...(await csr.toDense())], [0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0]);
    const explicitZero = CsrMatrix.fromParts(1, 3, [0, 2], [0, 2], [0, 5], backend);
    assert.equal(explicitZero.nnz, 2);
    assert.equal(explicitZero.density(), 1 / 3);
    assert.equal(explicitZero.storedDensity(), 2 / 3);
    const none = CsrMatrix.fromParts(2, 2, [0, 0, 0], [], [], backend);
    assert.equal(none.nnz, 0);
  });

  it('fromParts rejects bad rowPtr, indices and lengths with clear messages', () => {
    const bad = (f: () => unknown, type: typeof ShapeError | typeof ArgumentError, pattern: RegExp) =>
      assert.throws(f, (e: unknown) => e instanceof type && pattern.test((e as Error).message), String(pattern));
    const make = (rows: number, cols: number, rowPtr: number[], idx: number[], vals: number[]) => () => CsrMatrix.fromParts(rows, cols, rowPtr, idx, vals, backend);
    bad(make(2, 3, [0, 1], [0], [1]), ShapeError, /rowPtr has 2 elements, expected 3/);
    bad(make(2, 3, [1, 1, 1], [0], [1]), ArgumentError, /rowPtr\[0\] must be 0/);
    bad(make(2, 3, [0, 2, 1], [0, 1], [1, 2]), ArgumentError, /rowPtr decreases at row 1/);
    bad(make(2, 3, [0, 1, 1], [0, 1], [1, 2]), ArgumentError, /rowPtr\[2\] = 1 must equal nnz/);
    bad(make(2, 3, [0, 1, 2], [0], [1, 2]), ShapeError, /colIndices has 1 elements, expected 2/);
    bad(make(2, 3, [0, 1, 2], [0, 3], [1, 2]), ArgumentError, /row 1 has column index 3 .* outside \[0, 3\)/);
    bad(make(2, 3, [0, 1, 2], [-1, 0], [1, 2]), ArgumentError, /column index -1/);
    bad(make(1, 3, [0, 2], [2, 1], [1, 2]), ArgumentError, /must strictly increase, got 2 then 1/);
    bad(make(1, 3, [0, 2], [1, 1], [1, 2]), ArgumentError, /must strictly increase, got 1 then 1/);
    bad(make(1, 3, [0, 1], [0.5], [1]), ArgumentError, /column index 0.5/);
    bad(make(1, 3, [0, 1.5], [0], [1]), ArgumentError, /rowPtr\[1\] = 1.5 is not a 32-bit integer/);
    bad(make(-1, 3, [0], [], []), ShapeError, /non-negative integers/);
    assert.throws(() => CsrMatrix.fromDense(new Float32Array(5), 2, 3, backend), (e: unknown) => e instanceof ShapeError && /5 values do not fill a 2 x 3/.test((e as Error).message));
    assert.throws(() => CsrMatrix.fromDense(new Float32Array(6), 2, 3, backend, Mask.zeros([3, 2])), (e: unknown) => e instanceof ShapeError && /mask shape \[3, 2\]/.test((e as Error).message));
  });

  it('dispose() frees the parts', async () => {
    const csr = CsrMatrix.fromDense(new Float32Array([1, 0, 2, 0]), 2, 2, backend);
    const bytes = csr.bytes();
    csr.dispose();
    assert.ok(csr.disposed);
    assert.equal(csr.bytes(), bytes, 'bytes() stays known');
    await assert.rejects(csr.toDense(), /after dispose/);
    csr.dispose();
  });
});
