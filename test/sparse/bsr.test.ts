import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Backend } from '../../src/core/backend.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { Mask } from '../../src/sparse/mask.js';
import { cpuBackend } from '../helpers/cpu.js';
import { countNonzero, FC, randomBlockSparse, randomSparse, sameBits } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

const bsrArb = fc.record({
  blockRows: fc.integer({ min: 1, max: 4 }),
  blockCols: fc.integer({ min: 1, max: 5 }),
  blockRowCount: fc.integer({ min: 1, max: 4 }),
  blockColCount: fc.integer({ min: 1, max: 4 }),
  tileDensity: fc.constantFrom(0, 0.3, 0.7, 1),
  elementDensity: fc.constantFrom(0.1, 0.5, 1),
  seed: fc.integer(),
});

/** Whether tile (R, C) of a dense matrix holds a nonzero. */
function tileNonzero(data: Float32Array, cols: number, br: number, bc: number, R: number, C: number): boolean {
  for (let r = 0; r < br; r++) for (let c = 0; c < bc; c++) if (data[(R * br + r) * cols + C * bc + c] !== 0) return true;
  return false;
}

describe('BsrMatrix', () => {
  it('round-trips dense -> BSR -> dense and stores exactly the nonzero tiles, each column-major', async () => {
    await fc.assert(
      fc.asyncProperty(bsrArb, async (p) => {
        const { blockRows: br, blockCols: bc } = p;
        const rows = p.blockRowCount * br;
        const cols = p.blockColCount * bc;
        const data = randomBlockSparse(rows, cols, br, bc, p.tileDensity, p.elementDensity, p.seed);
        const bsr = BsrMatrix.fromDense(data, rows, cols, br, bc, backend);
        const { blockRowPtr, blockColIndices, values } = await bsr.readArrays();
        assert.equal(blockRowPtr.length, p.blockRowCount + 1);
        assert.equal(blockRowPtr[0], 0);
        assert.equal(blockRowPtr[p.blockRowCount], bsr.nnzBlocks);
        assert.deepEqual(bsr.values.shape, [bsr.nnzBlocks, bc, br]);
        let tiles = 0;
        for (let R = 0; R < p.blockRowCount; R++) {
          const want: number[] = [];
          for (let C = 0; C < p.blockColCount; C++) if (tileNonzero(data, cols, br, bc, R, C)) want.push(C);
          tiles += want.length;
          const got = [...blockColIndices.subarray(blockRowPtr[R], blockRowPtr[R + 1])];
          assert.deepEqual(got, want, `block row ${R}: the nonzero tiles, ascending`);
          for (let t = blockRowPtr[R]; t < blockRowPtr[R + 1]; t++) {
            for (let r = 0; r < br; r++) {
              for (let c = 0; c < bc; c++) {
                assert.equal(values[t * br * bc + c * br + r], data[(R * br + r) * cols + blockColIndices[t] * bc + c], 'element (r, c) at c * blockRows + r');
              }
            }
          }
        }
        assert.equal(bsr.nnzBlocks, tiles);
        assert.ok(sameBits(await bsr.toDense(), data));
        const total = rows * cols;
        assert.equal(bsr.density(), countNonzero(data) / total);
        assert.equal(bsr.blockDensity(), tiles / (p.blockRowCount * p.blockColCount));
        assert.equal(bsr.storedDensity(), (tiles * br * bc) / total);
        assert.equal(bsr.sparsity(), 1 - bsr.density());
        assert.equal(bsr.bytes(), blockRowPtr.byteLength + blockColIndices.byteLength + values.byteLength);
        const mask = await bsr.toMask();
        assert.equal(mask.count(), tiles * br * bc);
        assert.ok(mask.and(Mask.fromDense(data, [rows, cols])).equals(Mask.fromDense(data, [rows, cols])), 'stored tiles cover every nonzero');
        bsr.dispose();
      }),
      FC,
    );
  });

  it('lays a tile out column-major (k-major)', async () => {
    // [[1, 2, 0, 0],
    //  [3, 4, 0, 0],
    //  [0, 0, 0, 5],
    //  [0, 0, 0, 0]]
    const data = new Float32Array([1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]);
    const bsr = BsrMatrix.fromDense(data, 4, 4, 2, 2, backend);
    const { blockRowPtr, blockColIndices, values } = await bsr.readArrays();
    assert.deepEqual([...blockRowPtr], [0, 1, 2]);
    assert.deepEqual([...blockColIndices], [0, 1]);
    assert.deepEqual([...values], [1, 3, 2, 4, 0, 0, 5, 0]);
    assert.equal(bsr.nonzeroCount, 5);
    assert.equal(bsr.density(), 5 / 16);
    assert.equal(bsr.blockDensity(), 0.5);
    assert.equal(bsr.storedDensity(), 0.5);
    assert.equal(bsr.bytes(), 3 * 4 + 2 * 4 + 8 * 4);
    // A 2 x 3 tile: column c holds rows 0..1.
    const wide = BsrMatrix.fromDense(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, 2, 3, backend);
    assert.deepEqual([...(await wide.readArrays()).values], [1, 4, 2, 5, 3, 6]);
    assert.ok(sameBits(await BsrMatrix.fromParts(2, 3, 2, 3, [0, 1], [0], [1, 4, 2, 5, 3, 6], backend).toDense(), new Float32Array([1, 2, 3, 4, 5, 6])));
  });

  it('handles 1 x 1 tiles like CSR, a single tile, and fully empty or dense matrices', async () => {
    const data = randomSparse(7, 13, 0.3, 4);
    const bsr = BsrMatrix.fromDense(data, 7, 13, 1, 1, backend);
    const csr = CsrMatrix.fromDense(data, 7, 13, backend);
    const [b, c] = [await bsr.readArrays(), await csr.readArrays()];
    assert.deepEqual([...b.blockRowPtr], [...c.rowPtr]);
    assert.deepEqual([...b.blockColIndices], [...c.colIndices]);
    assert.ok(sameBits(b.values, c.values));
    const one = BsrMatrix.fromDense(new Float32Array([0, 0, 0, 9]), 2, 2, 2, 2, backend);
    assert.equal(one.nnzBlocks, 1);
    assert.deepEqual([...(await one.readArrays()).values], [0, 0, 0, 9]);
    const empty = BsrMatrix.fromDense(new Float32Array(24), 4, 6, 2, 3, backend);
    assert.equal(empty.nnzBlocks, 0);
    assert.equal(empty.density(), 0);
    assert.ok(sameBits(await empty.toDense(), new Float32Array(24)));
    const full = BsrMatrix.fromDense(new Float32Array(24).fill(2), 4, 6, 2, 3, backend);
    assert.equal(full.blockDensity(), 1);
    assert.equal(full.density(), 1);
    const unit = BsrMatrix.fromDense(new Float32Array([4]), 1, 1, 1, 1, backend);
    assert.ok(sameBits(await unit.toDense(), new Float32Array([4])));
  });

  it('with a mask keeps the tiles holding a masked element and stores data ⊙ mask', async () => {
    const data = new Float32Array(4 * 4).fill(1);
    const mask = Mask.fromPredicate([4, 4], (i) => i === 0 || i === 15);
    const bsr = BsrMatrix.fromDense(data, 4, 4, 2, 2, backend, mask);
    assert.equal(bsr.nnzBlocks, 2);
    assert.ok(sameBits(await bsr.toDense(), mask.apply(data)));
    assert.equal(bsr.density(), 2 / 16);
    assert.equal(bsr.blockDensity(), 0.5);
    const t = await BsrMatrix.fromTensor(tensor(data, [4, 4], 'f32', backend), 2, 2, mask);
    assert.ok(sameBits(await t.toDense(), mask.apply(data)));
  });

  it('is smaller than dense for block-sparse inputs', () => {
    const data = randomBlockSparse(64, 64, 4, 4, 0.2, 1, 9);
    const bsr = BsrMatrix.fromDense(data, 64, 64, 4, 4, backend);
    assert.ok(bsr.bytes() < bsr.denseBytes());
  });

  it('rejects indivisible dims, bad block sizes and bad parts', () => {
    assert.throws(
      () => BsrMatrix.fromDense(new Float32Array(30), 5, 6, 2, 3, backend),
      (e: unknown) => e instanceof ShapeError && /5 x 6 matrix does not divide into 2 x 3 blocks/.test((e as Error).message),
    );
    assert.throws(() => BsrMatrix.fromDense(new Float32Array(24), 4, 6, 2, 4, backend), (e: unknown) => e instanceof ShapeError && /cols % blockCols = 2/.test((e as Error).message));
    assert.throws(() => BsrMatrix.fromDense(new Float32Array(4), 2, 2, 0, 1, backend), ArgumentError);
    assert.throws(() => BsrMatrix.fromDense(new Float32Array(4), 2, 2, 1.5, 1, backend), ArgumentError);
    const parts = (ptr: number[], idx: number[], nValues: number) => () => BsrMatrix.fromParts(4, 4, 2, 2, ptr, idx, new Float32Array(nValues), backend);
    assert.throws(parts([0, 1], [0], 4), (e: unknown) => e instanceof ShapeError && /blockRowPtr has 2 elements, expected 3/.test((e as Error).message));
    assert.throws(parts([0, 1, 2], [0, 1], 4), (e: unknown) => e instanceof ShapeError && /values .* has 4 elements, expected 8/.test((e as Error).message));
    assert.throws(parts([1, 1, 2], [0, 1], 8), (e: unknown) => e instanceof ArgumentError && /blockRowPtr\[0\] must be 0/.test((e as Error).message));
    assert.throws(parts([0, 2, 1], [0, 1], 8), (e: unknown) => e instanceof ArgumentError && /decreases at block row 1/.test((e as Error).message));
    assert.throws(parts([0, 1, 1], [0, 1], 8), (e: unknown) => e instanceof ArgumentError && /must equal nnzBlocks/.test((e as Error).message));
    assert.throws(parts([0, 1, 2], [0, 2], 8), (e: unknown) => e instanceof ArgumentError && /block-column index 2 .* outside \[0, 2\)/.test((e as Error).message));
    assert.throws(parts([0, 2, 2], [1, 0], 8), (e: unknown) => e instanceof ArgumentError && /strictly increase, got 1 then 0/.test((e as Error).message));
    assert.throws(() => BsrMatrix.fromParts(5, 4, 2, 2, [0, 0, 0], [], [], backend), ShapeError);
  });
});
