import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Backend, BsrParts, CsrParts, NmParts } from '../../src/core/backend.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/ops.js';
import type { Tensor } from '../../src/core/tensor.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { formatOf, linear, type LinearWeight, weightBytes } from '../../src/sparse/linear.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { linearBsrReference, linearCsrReference, linearNmReference } from '../../src/backends/cpu/reference/sparse-linear.js';
import { cpuBackend } from '../helpers/cpu.js';
import { relativeError } from '../helpers/numeric.js';
import { denseLinear, FC, randomBlockSparse, randomDense, randomNmDense, randomSparse } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

const TOLERANCE = 1e-5;

function withBias(y: Float32Array, bias: Float32Array | null): Float32Array {
  if (!bias) return y;
  return y.map((v, i) => v + bias[i % bias.length]);
}

async function assertLinear(x: Tensor, weight: LinearWeight, bias: Tensor | null, w: Float32Array, what: string): Promise<void> {
  const [rows, cols] = formatOf(weight) === 'dense' ? (weight as Tensor).shape : [(weight as CsrMatrix).rows, (weight as CsrMatrix).cols];
  const batch = x.size / cols;
  const y = linear(x, weight, bias);
  assert.deepEqual(y.shape, [...x.shape.slice(0, -1), rows], `${what}: output shape`);
  const want = withBias(denseLinear((await x.read()) as Float32Array, batch, w, rows, cols), bias && ((await bias.read()) as Float32Array));
  const err = relativeError((await y.read()) as Float32Array, want);
  assert.ok(err <= TOLERANCE, `${what}: relative error ${err} > ${TOLERANCE}`);
  y.dispose();
}

const shapeArb = fc.record({
  lead: fc.constantFrom<number[]>([], [1], [3], [2, 3], [1, 2, 2]),
  rows: fc.integer({ min: 1, max: 24 }),
  groups: fc.integer({ min: 1, max: 6 }),
  useBias: fc.boolean(),
  seed: fc.integer(),
});

describe('linear()', () => {
  it('with a dense weight equals gemmReference (+ bias) for any leading dims', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, async ({ lead, rows, groups, useBias, seed }) => {
        const cols = groups * 4 + 1;
        const w = randomDense(rows * cols, seed);
        const weight = tensor(w, [rows, cols], 'f32', backend);
        const x = tensor(randomDense(lead.reduce((p, d) => p * d, 1) * cols, seed + 1), [...lead, cols], 'f32', backend);
        const bias = useBias ? tensor(randomDense(rows, seed + 2), [rows], 'f32', backend) : null;
        await assertLinear(x, weight, bias, w, `dense [${lead}] x [${rows}, ${cols}]`);
      }),
      { ...FC, numRuns: 40 },
    );
  });

  it('with CSR, BSR and N:M weights equals the dense product (through the backend kernel or the dense fallback)', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, async ({ lead, rows, groups, useBias, seed }) => {
        const cols = groups * 4;
        const rowsEven = rows * 2;
        const batch = lead.reduce((p, d) => p * d, 1);
        const x = tensor(randomDense(batch * cols, seed + 1), [...lead, cols], 'f32', backend);
        const bias = useBias ? tensor(randomDense(rowsEven, seed + 2), [rowsEven], 'f32', backend) : null;
        const wCsr = randomSparse(rowsEven, cols, 0.3, seed);
        const wBsr = randomBlockSparse(rowsEven, cols, 2, 4, 0.5, 0.8, seed);
        const wNm = randomNmDense(rowsEven, cols, 2, 4, seed);
        const pruned = NmMatrix.fromDenseByMagnitude(randomDense(rowsEven * cols, seed), rowsEven, cols, 1, 4, backend);
        const cases: [LinearWeight & { dispose(): void }, Float32Array, string][] = [
          [CsrMatrix.fromDense(wCsr, rowsEven, cols, backend), wCsr, 'csr'],
          [BsrMatrix.fromDense(wBsr, rowsEven, cols, 2, 4, backend), wBsr, 'bsr'],
          [NmMatrix.fromDense(wNm, rowsEven, cols, 2, 4, backend), wNm, 'nm 2:4'],
          [pruned, await pruned.toDense(), 'nm 1:4 by magnitude'],
        ];
        for (const [weight, w, what] of cases) {
          await assertLinear(x, weight, bias, w, `${what} [${lead}] x [${rowsEven}, ${cols}]`);
          weight.dispose();
        }
        x.dispose();
        bias?.dispose();
      }),
      { ...FC, numRuns: 30 },
    );
  });

  it('hands sparse weights to the backend kernels when the backend has them, as [batch, cols] inputs', async () => {
    const calls: string[] = [];
    const spy: Backend = Object.create(backend, {
      linearCsr: {
        value: (x: Tensor, w: CsrParts) => {
          calls.push(`csr [${x.shape}]`);
          const arrays = { rows: w.rows, cols: w.cols, rowPtr: w.rowPtr.readSync() as Int32Array, colIndices: w.colIndices.readSync() as Uint16Array, values: w.values.readSync() as Float32Array };
          return tensor(linearCsrReference(x.readSync() as Float32Array, x.shape[0], arrays), [x.shape[0], w.rows], 'f32', spy);
        },
      },
      linearBsr: {
        value: (x: Tensor, w: BsrParts) => {
          calls.push(`bsr [${x.shape}]`);
          const { rows, cols, blockRows, blockCols } = w;
          const arrays = { rows, cols, blockRows, blockCols, blockRowPtr: w.blockRowPtr.readSync() as Int32Array, blockColIndices: w.blockColIndices.readSync() as Int32Array, values: w.values.readSync() as Float32Array };
          return tensor(linearBsrReference(x.readSync() as Float32Array, x.shape[0], arrays), [x.shape[0], w.rows], 'f32', spy);
        },
      },
      linearNm: {
        value: (x: Tensor, w: NmParts) => {
          calls.push(`nm [${x.shape}]`);
          const { rows, cols, n, m, bitsPerIndex } = w;
          const arrays = { rows, cols, n, m, bitsPerIndex, values: w.values.readSync() as Float32Array, indices: w.indices.readSync() as Uint8Array };
          return tensor(linearNmReference(x.readSync() as Float32Array, x.shape[0], arrays), [x.shape[0], w.rows], 'f32', spy);
        },
      },
    });
    const [rows, cols] = [6, 8];
    const x = tensor(randomDense(2 * 3 * cols, 1), [2, 3, cols], 'f32', spy);
    const w = randomNmDense(rows, cols, 2, 4, 2);
    await assertLinear(x, CsrMatrix.fromDense(w, rows, cols, spy), null, w, 'csr kernel');
    await assertLinear(x, BsrMatrix.fromDense(w, rows, cols, 2, 4, spy), null, w, 'bsr kernel');
    await assertLinear(x, NmMatrix.fromDense(w, rows, cols, 2, 4, spy), tensor(new Float32Array(rows).fill(1), [rows], 'f32', spy), w, 'nm kernel');
    assert.deepEqual(calls, ['csr [6,8]', 'bsr [6,8]', 'nm [6,8]']);
  });

  it('passes empty batches through', async () => {
    const csr = CsrMatrix.fromDense(new Float32Array([1, 0, 0, 2, 0, 3]), 2, 3, backend);
    for (const shape of [[0, 3], [2, 0, 3]]) {
      const y = linear(tensor(new Float32Array(0), shape, 'f32', backend), csr);
      assert.deepEqual(y.shape, [...shape.slice(0, -1), 2]);
      assert.equal((await y.read()).length, 0);
    }
  });

  it('falls back to a dense copy of the weight on a backend without the kernels', async () => {
    const noKernels: Backend = Object.create(backend, {
      linearCsr: { value: undefined },
      linearBsr: { value: undefined },
      linearNm: { value: undefined },
    });
    const [rows, cols] = [10, 12];
    const w = randomNmDense(rows, cols, 1, 4, 8);
    const x = tensor(randomDense(3 * 2 * cols, 9), [3, 2, cols], 'f32', noKernels);
    const bias = tensor(randomDense(rows, 10), [rows], 'f32', noKernels);
    await assertLinear(x, CsrMatrix.fromDense(w, rows, cols, noKernels), bias, w, 'csr fallback');
    await assertLinear(x, BsrMatrix.fromDense(w, rows, cols, 2, 4, noKernels), bias, w, 'bsr fallback');
    await assertLinear(x, NmMatrix.fromDense(w, rows, cols, 1, 4, noKernels), null, w, 'nm fallback');
  });

  it('checks what a kernel returns', () => {
    const broken: Backend = Object.create(backend, { linearCsr: { value: (x: Tensor) => tensor(new Float32Array(x.shape[0]), [x.shape[0], 1], 'f32', broken) } });
    const csr = CsrMatrix.fromDense(new Float32Array(6), 2, 3, broken);
    assert.throws(() => linear(tensor(new Float32Array(3), [1, 3], 'f32', broken), csr), (e: unknown) => e instanceof ShapeError && /csr product returned \[1, 1\], expected \[1, 2\]/.test((e as Error).message));
  });

  it('says what to do on a backend with neither the kernel nor synchronous reads', () => {
    const asyncOnly: Backend = Object.create(backend, {
      readSync: { value: undefined },
      linearCsr: { value: undefined },
      linearBsr: { value: undefined },
      linearNm: { value: undefined },
    });
    const csr = CsrMatrix.fromDense(new Float32Array([1, 0, 0, 1]), 2, 2, asyncOnly);
    assert.throws(
      () => linear(tensor(new Float32Array(2), [1, 2], 'f32', asyncOnly), csr),
      (e: unknown) => e instanceof ArgumentError && /no csr kernel.*await weight\.toTensor\(\)/.test((e as Error).message),
    );
  });

  it('rejects mismatched shapes, dtypes and backends with clear messages', () => {
    const w = tensor(new Float32Array(6), [2, 3], 'f32', backend);
    const x = tensor(new Float32Array(8), [2, 4], 'f32', backend);
    const csr = CsrMatrix.fromDense(new Float32Array(6), 2, 3, backend);
    const isShape = (pattern: RegExp) => (e: unknown) => e instanceof ShapeError && pattern.test((e as Error).message);
    assert.throws(() => linear(x, w), isShape(/x \[2, 4\] has 4 input features, but the dense weight \[2, 3\] expects 3/));
    assert.throws(() => linear(x, csr), isShape(/csr weight \[2, 3\] expects 3/));
    const x3 = tensor(new Float32Array(6), [2, 3], 'f32', backend);
    assert.throws(() => linear(x3, w, tensor(new Float32Array(3), [3], 'f32', backend)), isShape(/bias must be \[2\] for a \[2, 3\] weight, got \[3\]/));
    assert.throws(() => linear(x3, tensor(new Float32Array(6), [1, 2, 3], 'f32', backend)), isShape(/dense weight must be \[rows, cols\]/));
    assert.throws(() => linear(tensor(new Float32Array([1]), [], 'f32', backend), w), ShapeError);
    assert.throws(() => linear(tensor(new Int32Array(6), [2, 3], 'i32', backend), w), ArgumentError);
    const other: Backend = Object.create(backend);
    assert.throws(() => linear(x3, CsrMatrix.fromDense(new Float32Array(6), 2, 3, other)), /different backends/);
  });

  it('formatOf and weightBytes', () => {
    const data = randomNmDense(8, 16, 2, 4, 5);
    const dense = tensor(data, [8, 16], 'f32', backend);
    const csr = CsrMatrix.fromDense(data, 8, 16, backend);
    const bsr = BsrMatrix.fromDense(data, 8, 16, 2, 4, backend);
    const nm = NmMatrix.fromDense(data, 8, 16, 2, 4, backend);
    assert.deepEqual([dense, csr, bsr, nm].map(formatOf), ['dense', 'csr', 'bsr', 'nm']);
    assert.equal(weightBytes(dense), 8 * 16 * 4);
    assert.equal(weightBytes(csr), csr.bytes());
    assert.equal(weightBytes(bsr), bsr.bytes());
    assert.equal(weightBytes(nm), 8 * 8 * 4 + 8 * 2);
    assert.ok(weightBytes(nm) < weightBytes(dense));
  });
});
