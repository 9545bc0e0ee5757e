import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Backend } from '../../src/core/backend.js';
import { ShapeError } from '../../src/core/errors.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { linearBsrReference, linearCsrReference, linearNmReference } from '../../src/backends/cpu/reference/sparse-linear.js';
import { cpuBackend } from '../helpers/cpu.js';
import { relativeError } from '../helpers/numeric.js';
import { denseLinear, FC, randomBlockSparse, randomDense, randomNmDense, randomSparse, sparseMatrixArb } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

const TOLERANCE = 1e-5;
const batchArb = fc.integer({ min: 1, max: 4 });

function assertMatches(got: Float32Array, want: Float32Array, what: string): void {
  const err = relativeError(got, want);
  assert.ok(err <= TOLERANCE, `${what}: relative error ${err} > ${TOLERANCE}`);
}

describe('sparse linear references', () => {
  it('CSR: y = x W^T equals the dense gemmReference', async () => {
    await fc.assert(
      fc.asyncProperty(sparseMatrixArb, batchArb, async ({ rows, cols, density, seed }, batch) => {
        const w = randomSparse(rows, cols, density, seed);
        const x = randomDense(batch * cols, seed ^ 0x55);
        const csr = CsrMatrix.fromDense(w, rows, cols, backend);
        assertMatches(linearCsrReference(x, batch, await csr.readArrays()), denseLinear(x, batch, w, rows, cols), `${rows} x ${cols}`);
        csr.dispose();
      }),
      FC,
    );
  });

  it('BSR: y = x W^T equals the dense gemmReference', async () => {
    const arb = fc.record({
      br: fc.integer({ min: 1, max: 4 }),
      bc: fc.integer({ min: 1, max: 4 }),
      nbr: fc.integer({ min: 1, max: 4 }),
      nbc: fc.integer({ min: 1, max: 4 }),
      tiles: fc.constantFrom(0, 0.4, 1),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(arb, batchArb, async ({ br, bc, nbr, nbc, tiles, seed }, batch) => {
        const [rows, cols] = [br * nbr, bc * nbc];
        const w = randomBlockSparse(rows, cols, br, bc, tiles, 0.6, seed);
        const x = randomDense(batch * cols, seed ^ 0x77);
        const bsr = BsrMatrix.fromDense(w, rows, cols, br, bc, backend);
        assertMatches(linearBsrReference(x, batch, await bsr.readArrays()), denseLinear(x, batch, w, rows, cols), `${rows} x ${cols} in ${br} x ${bc}`);
        bsr.dispose();
      }),
      FC,
    );
  });

  it('N:M: y = x W^T equals the dense gemmReference', async () => {
    const arb = fc.record({
      pattern: fc.constantFrom<[number, number]>([1, 4], [2, 4], [4, 8], [3, 8], [1, 16], [7, 16], [2, 32], [50, 200]),
      rows: fc.integer({ min: 1, max: 6 }),
      groups: fc.integer({ min: 1, max: 4 }),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(arb, batchArb, async ({ pattern: [n, m], rows, groups, seed }, batch) => {
        const cols = groups * m;
        const w = randomNmDense(rows, cols, n, m, seed);
        const x = randomDense(batch * cols, seed ^ 0x99);
        const nm = NmMatrix.fromDense(w, rows, cols, n, m, backend);
        assertMatches(linearNmReference(x, batch, await nm.readArrays()), denseLinear(x, batch, w, rows, cols), `${rows} x ${cols} ${n}:${m}`);
        nm.dispose();
      }),
      FC,
    );
  });

  it('all three agree on the same 2:4 weights, empty rows included', async () => {
    const [rows, cols, batch] = [8, 16, 3];
    const w = randomNmDense(rows, cols, 2, 4, 21);
    w.fill(0, 2 * cols, 4 * cols); // rows 2 and 3 empty
    const x = randomDense(batch * cols, 22);
    const want = denseLinear(x, batch, w, rows, cols);
    assertMatches(linearCsrReference(x, batch, await CsrMatrix.fromDense(w, rows, cols, backend).readArrays()), want, 'csr');
    assertMatches(linearBsrReference(x, batch, await BsrMatrix.fromDense(w, rows, cols, 2, 4, backend).readArrays()), want, 'bsr');
    assertMatches(linearNmReference(x, batch, await NmMatrix.fromDense(w, rows, cols, 2, 4, backend).readArrays()), want, 'nm');
    assert.deepEqual([...want.subarray(2, 4)], [0, 0]);
  });

  it('rejects x whose length is not batch x cols', async () => {
    const csr = await CsrMatrix.fromDense(new Float32Array(6), 2, 3, backend).readArrays();
    assert.throws(() => linearCsrReference(new Float32Array(5), 2, csr), (e: unknown) => e instanceof ShapeError && /5 values, expected batch \(2\) x cols \(3\) = 6/.test((e as Error).message));
  });
});
