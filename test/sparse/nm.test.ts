import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Backend } from '../../src/core/backend.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { tensor } from '../../src/core/ops.js';
import { Mask } from '../../src/sparse/mask.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { cpuBackend } from '../helpers/cpu.js';
import { countNonzero, FC, randomDense, randomNmDense, sameBits } from './helpers.js';

let backend: Backend;
before(async () => {
  backend = await cpuBackend();
});

const PATTERNS: [number, number][] = [
  [1, 2],
  [1, 4],
  [2, 4],
  [3, 4],
  [4, 8],
  [3, 8],
  [1, 16],
  [7, 16],
  [2, 32],
  [17, 32],
  [100, 256],
];

const nmArb = fc.record({
  pattern: fc.constantFrom(...PATTERNS),
  rows: fc.integer({ min: 1, max: 5 }),
  groups: fc.integer({ min: 1, max: 5 }),
  full: fc.boolean(),
  seed: fc.integer(),
});

/** Positions of each group, decoded independently of the library: bits LSB-first, rows byte-aligned. */
function decodePositions(indices: Uint8Array, rows: number, perRow: number, bits: number): number[][] {
  const rowBytes = Math.ceil((perRow * bits) / 8);
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let k = 0; k < perRow; k++) {
      const bit = k * bits;
      row.push((indices[r * rowBytes + Math.floor(bit / 8)] >> bit % 8) & ((1 << bits) - 1));
    }
    out.push(row);
  }
  return out;
}

/** The n positions that pruning by magnitude must keep: largest |w| first, lower position on ties. */
function topByMagnitude(group: Float32Array, n: number): number[] {
  return [...group.keys()]
    .sort((a, b) => Math.abs(group[b]) - Math.abs(group[a]) || a - b)
    .slice(0, n)
    .sort((a, b) => a - b);
}

describe('NmMatrix', () => {
  it('round-trips dense -> N:M -> dense; every group stores exactly n distinct ascending positions', async () => {
    await fc.assert(
      fc.asyncProperty(nmArb, async ({ pattern: [n, m], rows, groups, full, seed }) => {
        const cols = groups * m;
        const data = randomNmDense(rows, cols, n, m, seed, full);
        const nm = NmMatrix.fromDense(data, rows, cols, n, m, backend);
        const bits = m <= 4 ? 2 : m <= 16 ? 4 : 8;
        const perRow = groups * n;
        assert.equal(nm.bitsPerIndex, bits);
        assert.deepEqual(nm.values.shape, [rows, perRow]);
        assert.deepEqual(nm.indices.shape, [rows, Math.ceil((perRow * bits) / 8)]);
        assert.equal(nm.indices.dtype, 'u8');
        const { values, indices } = await nm.readArrays();
        const positions = decodePositions(indices, rows, perRow, bits);
        for (let r = 0; r < rows; r++) {
          for (let g = 0; g < groups; g++) {
            const pos = positions[r].slice(g * n, g * n + n);
            for (let j = 0; j < n; j++) {
              assert.ok(pos[j] < m, 'position inside the group');
              if (j > 0) assert.ok(pos[j] > pos[j - 1], 'distinct and ascending');
              assert.equal(values[r * perRow + g * n + j], data[r * cols + g * m + pos[j]]);
            }
            // Every nonzero is kept; the padding takes the lowest positions left over.
            const nonzero = [...Array(m).keys()].filter((p) => data[r * cols + g * m + p] !== 0);
            const padding = [...Array(m).keys()].filter((p) => !nonzero.includes(p)).slice(0, n - nonzero.length);
            assert.deepEqual(pos, [...nonzero, ...padding].sort((a, b) => a - b));
          }
        }
        assert.ok(sameBits(await nm.toDense(), data), 'dense -> N:M -> dense is the identity');
        const mask = await nm.toMask();
        assert.equal(mask.count(), rows * groups * n);
        for (let g = 0; g < rows * groups; g++) assert.equal(Mask.fromPredicate([m], (p) => mask.get(g * m + p)).count(), n);
        assert.equal(nm.storedDensity(), n / m);
        assert.equal(nm.storedSparsity(), 1 - n / m);
        assert.equal(nm.density(), countNonzero(data) / (rows * cols));
        assert.ok(nm.density() <= n / m);
        assert.equal(nm.bytes(), values.byteLength + indices.byteLength);
        nm.dispose();
      }),
      FC,
    );
  });

  it('packs 2:4 indices two groups per byte: low nibble group g (i0 | i1 << 2), high nibble group g + 1', async () => {
    // Row 0: group 0 keeps positions 1, 3; group 1 keeps 0, 3; group 2 keeps 1, 2.
    // Row 1: group 0 keeps 2 only (padded with position 0); groups 1, 2 are empty (padded 0, 1).
    const data = new Float32Array([0, 1, 0, 2, 3, 0, 0, 4, 0, 5, 6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const nm = NmMatrix.fromDense(data, 2, 12, 2, 4, backend);
    const { values, indices } = await nm.readArrays();
    assert.deepEqual([...indices], [1 | (3 << 2) | ((0 | (3 << 2)) << 4), 1 | (2 << 2), 0 | (2 << 2) | ((0 | (1 << 2)) << 4), 0 | (1 << 2)]);
    assert.deepEqual([...values], [1, 2, 3, 4, 5, 6, 0, 7, 0, 0, 0, 0]);
    assert.equal(nm.indexRowBytes, 2, 'each row starts on a fresh byte');
    assert.equal(nm.pattern, '2:4');
    assert.equal(nm.storedSparsity(), 0.5);
    assert.equal(nm.bytes(), 2 * 6 * 4 + 2 * 2);
  });

  it('packs 4-bit and 8-bit indices least significant first', async () => {
    // 1:8 (4 bits): groups keep positions 5 and 2 -> one byte 0x25.
    const a = new Float32Array(16);
    a[5] = 1;
    a[8 + 2] = 2;
    const nm18 = NmMatrix.fromDense(a, 1, 16, 1, 8, backend);
    assert.deepEqual([...(await nm18.readArrays()).indices], [0x25]);
    // 2:32 (8 bits): positions 3 and 31.
    const b = new Float32Array(32);
    b[3] = 1;
    b[31] = -1;
    const nm232 = NmMatrix.fromDense(b, 1, 32, 2, 32, backend);
    assert.deepEqual([...(await nm232.readArrays()).indices], [3, 31]);
    // 1:4 over 4 columns: 2 bits used, 6 padding bits left zero.
    const c = NmMatrix.fromDense(new Float32Array([0, 0, 0, 9, 0, 8, 0, 0]), 2, 4, 1, 4, backend);
    assert.deepEqual([...(await c.readArrays()).indices], [3, 1]);
  });

  it('2:4 stores exactly half the elements, whatever the input', async () => {
    const data = randomNmDense(8, 32, 2, 4, 3);
    const nm = NmMatrix.fromDense(data, 8, 32, 2, 4, backend);
    assert.equal(nm.storedSparsity(), 0.5);
    assert.equal((await nm.toMask()).sparsity(), 0.5);
    assert.ok(nm.sparsity() >= 0.5);
    assert.ok(nm.bytes() < nm.denseBytes());
    // Per group of 4 weights (16 bytes dense), 2:4 keeps 2 f32 values and 4 bits of positions: 8.5 / 16.
    assert.equal(nm.bytes() / nm.denseBytes(), 8.5 / 16);
  });

  it('fromDenseByMagnitude keeps the n largest |w| of every group, ties to the lower position', async () => {
    await fc.assert(
      fc.asyncProperty(nmArb, fc.boolean(), async ({ pattern: [n, m], rows, groups, seed }, quantize) => {
        const cols = groups * m;
        let data = randomDense(rows * cols, seed);
        // Quantised values make ties (and exact zeros) common.
        if (quantize) data = data.map((v) => Math.round(v * 2) / 2);
        const nm = NmMatrix.fromDenseByMagnitude(data, rows, cols, n, m, backend);
        const dense = await nm.toDense();
        const { indices } = await nm.readArrays();
        const positions = decodePositions(indices, rows, groups * n, nm.bitsPerIndex);
        for (let r = 0; r < rows; r++) {
          for (let g = 0; g < groups; g++) {
            const start = r * cols + g * m;
            const want = topByMagnitude(data.subarray(start, start + m), n);
            assert.deepEqual(positions[r].slice(g * n, g * n + n), want);
            for (let p = 0; p < m; p++) assert.equal(dense[start + p], want.includes(p) ? data[start + p] : 0);
          }
        }
        nm.dispose();
      }),
      FC,
    );
    const ties = NmMatrix.fromDenseByMagnitude(new Float32Array([1, -1, 1, 1, 0, 0, 0, 0]), 1, 8, 2, 4, backend);
    assert.deepEqual([...(await ties.toDense())], [1, -1, 0, 0, 0, 0, 0, 0]);
    const nan = NmMatrix.fromDenseByMagnitude(new Float32Array([3, NaN, 2, 1]), 1, 4, 1, 4, backend);
    assert.deepEqual([...(await nan.toDense())], [0, NaN, 0, 0], 'NaN counts as the largest magnitude');
  });

  it('fromDense with a mask keeps the masked positions and zeroes the padding', async () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const mask = Mask.fromBooleans([0, 0, 1, 0, 0, 0, 0, 0], [1, 8]);
    const nm = NmMatrix.fromDense(data, 1, 8, 2, 4, backend, mask);
    assert.deepEqual([...(await nm.toDense())], [0, 0, 3, 0, 0, 0, 0, 0]);
    assert.deepEqual([...(await nm.readArrays()).values], [0, 3, 0, 0]);
    assert.equal(nm.density(), 1 / 8);
    assert.throws(
      () => NmMatrix.fromDense(data, 1, 8, 2, 4, backend, Mask.fromBooleans([1, 1, 1, 0, 0, 0, 0, 0], [1, 8])),
      (e: unknown) => e instanceof ArgumentError && /3 masked positions/.test((e as Error).message),
    );
  });

  it('fromTensor reads through the backend; fromParts accepts what readArrays returns', async () => {
    const data = randomNmDense(3, 16, 3, 8, 7);
    const nm = await NmMatrix.fromTensor(tensor(data, [3, 16], 'f32', backend), 3, 8);
    assert.ok(sameBits(await nm.toDense(), data));
    assert.ok(sameBits(nm.toDenseSync(), data));
    const { values, indices } = await nm.readArrays();
    const again = NmMatrix.fromParts(3, 16, 3, 8, values, indices, backend);
    assert.ok(sameBits(await again.toDense(), data));
    const back = await again.toTensor();
    assert.deepEqual(back.shape, [3, 16]);
  });

  it('rejects cols not divisible by M, N >= M, bad N or M, and groups that are not n:m sparse', () => {
    const isShape = (pattern: RegExp) => (e: unknown) => e instanceof ShapeError && pattern.test((e as Error).message);
    const isArg = (pattern: RegExp) => (e: unknown) => e instanceof ArgumentError && pattern.test((e as Error).message);
    assert.throws(() => NmMatrix.fromDense(new Float32Array(2 * 10), 2, 10, 2, 4, backend), isShape(/cols \(10\) is not divisible by M \(4\)/));
    assert.throws(() => NmMatrix.fromDenseByMagnitude(new Float32Array(6), 1, 6, 2, 4, backend), isShape(/cols \(6\) is not divisible by M \(4\)/));
    assert.throws(() => NmMatrix.fromDense(new Float32Array(8), 2, 4, 4, 4, backend), isArg(/N must be smaller than M/));
    assert.throws(() => NmMatrix.fromDense(new Float32Array(8), 2, 4, 5, 4, backend), isArg(/5:4: N must be smaller than M/));
    assert.throws(() => NmMatrix.fromDense(new Float32Array(8), 2, 4, 0, 4, backend), isArg(/N must be at least 1/));
    assert.throws(() => NmMatrix.fromDense(new Float32Array(512), 1, 512, 2, 512, backend), isArg(/M must be between 2 and 256/));
    assert.throws(() => NmMatrix.fromDense(new Float32Array(7), 1, 8, 2, 4, backend), ShapeError);
    const dense = new Float32Array(2 * 8);
    dense.set([1, 0, 0, 0, 1, 1, 0, 0], 0);
    dense.set([1, 1, 0, 0, 0, 1, 1, 1], 8);
    assert.throws(() => NmMatrix.fromDense(dense, 2, 8, 2, 4, backend), isArg(/row 1, group 1 \(columns 4\.\.7\) has 3 nonzeros.*not 2:4 sparse/));
    assert.doesNotThrow(() => NmMatrix.fromDense(dense, 2, 8, 3, 4, backend));
  });

  it('fromParts rejects positions out of range, out of order, bad lengths and stray padding bits', () => {
    const isArg = (pattern: RegExp) => (e: unknown) => e instanceof ArgumentError && pattern.test((e as Error).message);
    const values = new Float32Array(2);
    // 2:3 uses 2 bits, so position 3 can be encoded but is outside the group.
    assert.throws(() => NmMatrix.fromParts(1, 3, 2, 3, values, new Uint8Array([0 | (3 << 2)]), backend), isArg(/position 3, outside \[0, 3\)/));
    assert.throws(() => NmMatrix.fromParts(1, 4, 2, 4, values, new Uint8Array([2 | (1 << 2)]), backend), isArg(/must strictly increase, got 2 then 1/));
    assert.throws(() => NmMatrix.fromParts(1, 4, 2, 4, values, new Uint8Array([1 | (1 << 2)]), backend), isArg(/got 1 then 1/));
    assert.throws(() => NmMatrix.fromParts(1, 4, 2, 4, values, new Uint8Array([1 | (2 << 2) | 0x40]), backend), isArg(/padding bits/));
    assert.throws(() => NmMatrix.fromParts(1, 4, 2, 4, new Float32Array(3), new Uint8Array([1 | (2 << 2)]), backend), ShapeError);
    assert.throws(() => NmMatrix.fromParts(1, 4, 2, 4, values, new Uint8Array(2), backend), ShapeError);
    assert.ok(NmMatrix.fromParts(1, 4, 2, 4, values, new Uint8Array([1 | (2 << 2)]), backend));
  });

  it('handles a 1 x m matrix, a single row and many rows of an awkward pattern', async () => {
    const rng = new Random(1);
    for (const [rows, cols, n, m] of [
      [1, 4, 1, 4],
      [1, 2, 1, 2],
      [1, 256, 255, 256],
      [13, 21, 2, 7],
      [5, 45, 4, 9],
    ]) {
      const data = randomNmDense(rows, cols, n, m, rng.nextUint32());
      const nm = NmMatrix.fromDense(data, rows, cols, n, m, backend);
      assert.ok(sameBits(await nm.toDense(), data), `${rows} x ${cols} ${n}:${m}`);
      nm.dispose();
    }
  });
});
