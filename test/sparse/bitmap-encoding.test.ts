/** CSR positions as bitmaps (checkpoints' `bitmap` format): exact round trips and clear errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bitmapRowBytes, csrFromBitmap, csrToBitmap } from '../../src/sparse/bitmap-encoding.js';
import { FC, randomSparse } from './helpers.js';

/** CSR arrays of a dense matrix, built here independently of CsrMatrix. */
function csrOf(dense: Float32Array, rows: number, cols: number) {
  const rowPtr = new Int32Array(rows + 1);
  const cols_: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (dense[r * cols + c] !== 0) cols_.push(c);
    rowPtr[r + 1] = cols_.length;
  }
  return { rows, cols, rowPtr, colIndices: Uint16Array.from(cols_), values: new Float32Array(cols_.length) };
}

describe('bitmap encoding of CSR positions', () => {
  it('round-trips any pattern, including widths that are not a multiple of 8 and empty rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 70 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (rows, cols, density, seed) => {
        const csr = csrOf(randomSparse(rows, cols, density, seed), rows, cols);
        const mask = csrToBitmap(csr);
        assert.equal(mask.length, rows * bitmapRowBytes(cols));
        const back = csrFromBitmap(rows, cols, mask);
        assert.deepEqual(Array.from(back.rowPtr), Array.from(csr.rowPtr));
        assert.deepEqual(Array.from(back.colIndices), Array.from(csr.colIndices));
      }),
      FC,
    );
  });

  it('sets bit j of byte p for column 8p + j, least significant first', () => {
    const csr = { rows: 2, cols: 10, rowPtr: Int32Array.from([0, 2, 3]), colIndices: Uint16Array.from([0, 9, 3]), values: new Float32Array(3) };
    assert.deepEqual(Array.from(csrToBitmap(csr)), [0b1, 0b10, 0b1000, 0]);
  });

  it('uses i32 indices past 65536 columns', () => {
    const mask = new Uint8Array(bitmapRowBytes(70000));
    mask[69999 >> 3] = 1 << (69999 & 7);
    const { colIndices } = csrFromBitmap(1, 70000, mask);
    assert.ok(colIndices instanceof Int32Array);
    assert.deepEqual(Array.from(colIndices), [69999]);
  });

  it('rejects a mask of the wrong size and bits past the last column', () => {
    assert.throws(() => csrFromBitmap(2, 10, new Uint8Array(3), 'w'), /w: mask has 3 bytes, expected 2 rows x 2 = 4/);
    assert.throws(() => csrFromBitmap(1, 10, Uint8Array.from([0, 0b100]), 'w'), /w: row 0 marks columns at or past 10/);
  });
});
