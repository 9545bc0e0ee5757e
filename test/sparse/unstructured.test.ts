/** Which in-memory format holds an unstructured weight: bitmap rows up to 60% sparsity, CSR above. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Backend } from '../../src/core/backend.js';
import { ArgumentError } from '../../src/core/errors.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { Mask } from '../../src/sparse/mask.js';
import { BITMAP_MAX_SPARSITY, UNSTRUCTURED_FORMAT_CHOICES, unstructuredFormatFor, unstructuredFromDense } from '../../src/sparse/unstructured.js';
import { cpuBackend } from '../helpers/cpu.js';
import { randomSparse, sameBits } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

/** A rows x cols matrix of nonzero random values with exactly `kept` of them left (the first ones, row-major). */
function keepingFirst(rows: number, cols: number, kept: number, seed: number): Float32Array {
  return randomSparse(rows, cols, 1, seed).map((v, i) => (i < kept ? v : 0));
}

describe('unstructuredFormatFor', () => {
  it('picks a bitmap up to 60% sparsity and CSR above', () => {
    assert.equal(BITMAP_MAX_SPARSITY, 0.6);
    for (const s of [0, 0.3, 0.5, 0.59, 0.6]) assert.equal(unstructuredFormatFor(s), 'bitmap', `sparsity ${s}`);
    for (const s of [0.6001, 0.61, 0.7, 0.75, 0.9, 0.99, 1]) assert.equal(unstructuredFormatFor(s), 'csr', `sparsity ${s}`);
    assert.equal(unstructuredFormatFor(0.6, 'auto'), 'bitmap');
    assert.equal(unstructuredFormatFor(0.6001, 'auto'), 'csr');
  });

  it('takes an explicit choice over the sparsity', () => {
    for (const s of [0, 0.5, 0.6, 0.6001, 0.9]) {
      assert.equal(unstructuredFormatFor(s, 'csr'), 'csr', `sparsity ${s}`);
      assert.equal(unstructuredFormatFor(s, 'bitmap'), 'bitmap', `sparsity ${s}`);
    }
    assert.deepEqual(UNSTRUCTURED_FORMAT_CHOICES, ['auto', 'csr', 'bitmap']);
  });

  it('rejects an unknown choice, naming the valid ones', () => {
    for (const choice of ['coo', 'CSR', '', 'dense']) {
      assert.throws(
        () => unstructuredFormatFor(0.5, choice as never),
        (error: unknown) => error instanceof ArgumentError && /must be one of auto, csr, bitmap/.test(error.message) && error.message.includes(`got ${choice}`),
        `choice ${JSON.stringify(choice)}`,
      );
    }
    assert.throws(() => unstructuredFormatFor(0.9, null as never), /auto, csr, bitmap, got null/);
  });
});

describe('unstructuredFromDense', () => {
  it("picks the class by the data's sparsity and keeps every nonzero exactly", () => {
    // 8 x 20 = 160 weights: 80 kept (50%), 65 (59.4%), 64 (60%), 63 (60.6%), 48 (70%), 16 (90%), all (0%).
    const cases = [
      [80, BitmapMatrix],
      [65, BitmapMatrix],
      [64, BitmapMatrix],
      [63, CsrMatrix],
      [48, CsrMatrix],
      [16, CsrMatrix],
      [160, BitmapMatrix],
    ] as const;
    for (const [kept, cls] of cases) {
      const data = keepingFirst(8, 20, kept, kept);
      const w = unstructuredFromDense(data, 8, 20, backend);
      assert.ok(w instanceof cls, `${kept} of 160 kept: ${String(w)}, expected a ${cls.name}`);
      assert.equal(w.backend, backend);
      assert.equal(w.nnz, kept);
      assert.equal(w.sparsity(), 1 - kept / 160);
      assert.ok(sameBits(w.toDenseSync(), data), `${kept} of 160 kept: values differ`);
      w.dispose();
    }
  });

  it('takes an explicit choice over the sparsity', () => {
    const half = randomSparse(6, 16, 1, 1).map((v, i) => (i % 2 ? v : 0));
    const tenth = randomSparse(6, 16, 1, 2).map((v, i) => (i % 10 ? 0 : v));
    for (const data of [half, tenth]) {
      for (const [choice, cls] of [['csr', CsrMatrix], ['bitmap', BitmapMatrix]] as const) {
        const w = unstructuredFromDense(data, 6, 16, backend, choice);
        assert.ok(w instanceof cls, `${choice}: ${String(w)}`);
        assert.ok(sameBits(w.toDenseSync(), data));
        w.dispose();
      }
    }
    const auto = unstructuredFromDense(tenth, 6, 16, backend, 'auto');
    assert.ok(auto instanceof CsrMatrix);
    auto.dispose();
    assert.throws(() => unstructuredFromDense(half, 6, 16, backend, 'coo' as never), /must be one of auto, csr, bitmap, got coo/);
  });

  it("with a mask, picks by the mask's sparsity and stores exactly the masked positions, zeros included", async () => {
    // The data is 90% zeros but the mask keeps half the positions: a bitmap of 48 stored weights.
    const rows = 6;
    const cols = 16;
    const sparseData = randomSparse(rows, cols, 1, 3).map((v, i) => (i % 10 ? 0 : v));
    const halfMask = Mask.fromPredicate([rows, cols], (i) => i % 2 === 0);
    const a = unstructuredFromDense(sparseData, rows, cols, backend, 'auto', halfMask);
    assert.ok(a instanceof BitmapMatrix, String(a));
    assert.equal(a.nnz, 48);
    assert.ok((await a.toMask()).equals(halfMask));
    assert.ok(sameBits(a.toDenseSync(), sparseData.map((v, i) => (i % 2 === 0 ? v : 0))));
    a.dispose();
    // Dense data under a mask keeping one position in ten: CSR holding only the masked values.
    const denseData = randomSparse(rows, cols, 1, 4);
    const tenthMask = Mask.fromPredicate([rows, cols], (i) => i % 10 === 0);
    const b = unstructuredFromDense(denseData, rows, cols, backend, 'auto', tenthMask);
    assert.ok(b instanceof CsrMatrix, String(b));
    assert.equal(b.nnz, 10);
    assert.ok(sameBits(b.toDenseSync(), denseData.map((v, i) => (i % 10 === 0 ? v : 0))));
    b.dispose();
  });

  it('stores the masked positions of an exactly 60%-sparse mask as a bitmap', async () => {
    // 5 x 16 = 80 weights, 2 in every 5 kept: 32 (60% sparse); one fewer, 31 (61.25%), is CSR.
    const data = randomSparse(5, 16, 1, 5);
    const mask = Mask.fromPredicate([5, 16], (i) => i % 5 < 2);
    assert.equal(mask.count(), 32);
    const w = unstructuredFromDense(data, 5, 16, backend, 'auto', mask);
    assert.ok(w instanceof BitmapMatrix, String(w));
    assert.equal(w.sparsity(), 0.6);
    assert.ok((await w.toMask()).equals(mask));
    assert.deepEqual(w.readArraysSync().values, data.filter((_, i) => i % 5 < 2));
    w.dispose();
    const over = Mask.fromPredicate([5, 16], (i) => i % 5 < 2 && i !== 1);
    const v = unstructuredFromDense(data, 5, 16, backend, 'auto', over);
    assert.ok(v instanceof CsrMatrix, `31 of 80 kept: ${String(v)}`);
    assert.equal(v.nnz, 31);
    v.dispose();
  });
});
