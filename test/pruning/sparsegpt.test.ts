/**
 * SparseGPT's edges: exact counts, the N:M structure, singular and indefinite Hessians (a dead
 * input, a duplicated input, a Gram matrix that no data could give), bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { SparseGpt } from '../../src/pruning/methods/sparsegpt.js';
import type { PatternSpec, PruneResult, PruneTarget } from '../../src/pruning/types.js';
import { reconstructionError, syntheticLayer } from './synthetic-layer.js';

const ROW: PatternSpec = { kind: 'unstructured', group: 'row' };
const TWO_FOUR: PatternSpec = { kind: 'nm', n: 2, m: 4 };

function assertFinite(result: PruneResult): void {
  for (let i = 0; i < result.weight.length; i++) assert.ok(Number.isFinite(result.weight[i]), `weight ${i} is ${result.weight[i]}`);
}

function assertPrunedAreZero(result: PruneResult): void {
  const bits = result.mask.toUint8Array();
  for (let i = 0; i < bits.length; i++) if (bits[i] === 0) assert.equal(result.weight[i], 0);
}

describe('SparseGPT', () => {
  it('prunes exactly round(sparsity * rows * cols) over several blocks, and nothing at sparsity 0', () => {
    const layer = syntheticLayer(7, { rows: 24, cols: 40, tokens: 128 });
    for (const blocksize of [128, 16, 7]) {
      for (const s of [0.1, 0.5, 0.63, 0.9]) {
        const r = new SparseGpt({ blocksize }).prune(layer.target, s, ROW);
        assert.equal(r.mask.size - r.mask.count(), Math.round(s * 24 * 40), `blocksize ${blocksize}, sparsity ${s}`);
        assertFinite(r);
        assertPrunedAreZero(r);
      }
    }
    const none = new SparseGpt().prune(layer.target, 0, ROW);
    assert.deepEqual(none.weight, layer.target.weight);
    assert.equal(none.notes?.error, 0);
  });

  it("reproduces upstream's count on request: int(numel * sparsity) + 1 per block", () => {
    const layer = syntheticLayer(8, { rows: 16, cols: 40, tokens: 128 });
    const r = new SparseGpt({ blocksize: 16, upstreamMaskCount: true }).prune(layer.target, 0.5, ROW);
    // Blocks of 16, 16 and 8 columns: 16*16/2 + 1, 16*16/2 + 1, 16*8/2 + 1.
    assert.equal(r.mask.size - r.mask.count(), 129 + 129 + 65);
  });

  it('2:4 keeps exactly 2 of every 4 with the block size rounded to whole groups', () => {
    const layer = syntheticLayer(9, { rows: 8, cols: 48, tokens: 128 });
    for (const blocksize of [128, 10]) {
      const r = new SparseGpt({ blocksize }).prune(layer.target, 0.5, TWO_FOUR);
      const bits = r.mask.toUint8Array();
      for (let g = 0; g < bits.length; g += 4) assert.equal(bits[g] + bits[g + 1] + bits[g + 2] + bits[g + 3], 2);
      assertPrunedAreZero(r);
    }
    assert.throws(() => new SparseGpt().prune(layer.target, 0.6, TWO_FOUR), /0.5 sparse, not 0.6/);
    assert.throws(() => new SparseGpt().prune(syntheticLayer(9, { rows: 8, cols: 18, tokens: 64 }).target, 0.5, TWO_FOUR), /not divisible by M = 4/);
  });

  it('the scale of H cancels: sequences only matters through dead inputs', () => {
    const layer = syntheticLayer(10, { rows: 16, cols: 32, tokens: 256 });
    const a = new SparseGpt({ sequences: 4 }).prune(layer.target, 0.5, ROW);
    const b = new SparseGpt().prune(layer.target, 0.5, ROW);
    assert.ok(a.mask.equals(b.mask));
    for (let i = 0; i < a.weight.length; i++) assert.ok(Math.abs(a.weight[i] - b.weight[i]) <= 1e-5 * (1 + Math.abs(b.weight[i])));
  });

  it('a dead input: H_ii = 1, its column zeroed (and so pruned first), no NaN, dampening reported', () => {
    const layer = syntheticLayer(11, { rows: 16, cols: 32, tokens: 256, overrides: [[5, -1]] });
    const r = new SparseGpt({ sequences: 4 }).prune(layer.target, 0.5, ROW);
    assertFinite(r);
    assert.equal(r.notes?.deadInputs, 1);
    assert.equal(r.notes?.dampRaises, 0);
    // damp = 0.01 * mean(diag H) with H = 2 gram / 4 and the dead H_55 = 1.
    const { gram } = layer.target.stats!;
    let mean = 0;
    for (let i = 0; i < 32; i++) mean += (i === 5 ? 1 : (2 * gram![i * 32 + i]) / 4) / 32;
    assert.ok(Math.abs(Number(r.notes?.damp) - 0.01 * mean) <= 1e-12 * mean);
    for (let row = 0; row < 16; row++) {
      assert.equal(r.weight[row * 32 + 5], 0);
      assert.equal(r.mask.get(row * 32 + 5), false, 'a zeroed weight has the lowest metric');
    }
  });

  it('a duplicated input (singular X X^T): no NaN, the 1% dampening suffices, the update still beats masking alone', () => {
    const dup = syntheticLayer(12, { rows: 16, cols: 32, tokens: 256, overrides: [[7, 3]] });
    const r = new SparseGpt({ sequences: 4 }).prune(dup.target, 0.5, ROW);
    assertFinite(r);
    assert.equal(r.notes?.dampRaises, 0);
    assert.equal(r.notes?.percdamp, 0.01);
    assert.ok(Number(r.notes?.damp) > 0);
    // Still far better than not updating the kept weights.
    const maskOnly = r.mask.apply(dup.target.weight);
    assert.ok(reconstructionError(dup, r.weight) < reconstructionError(dup, maskOnly));
  });

  it('an indefinite "Hessian": dampening raised x10 until Cholesky succeeds, reported, no NaN', (t) => {
    // X X^T can not be indefinite, but a Gram matrix summed in low precision (or corrupted) can.
    const n = 8;
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gram[i * n + j] = i === j ? 1 : 0.5 * Math.cos(i + 2 * j) + 0.5 * Math.cos(j + 2 * i);
    gram[0 * n + 1] = gram[1 * n + 0] = 3; // a 2x2 minor [[1, 3], [3, 1]]: eigenvalue -2
    const target: PruneTarget = {
      name: 'indefinite.weight',
      rows: 4,
      cols: n,
      weight: Float32Array.from({ length: 4 * n }, (_, i) => Math.sin(i + 1)),
      stats: { tokens: 2, sum: new Float64Array(n), sumSquares: new Float64Array(n).fill(1), gram },
    };
    const r = new SparseGpt({ sequences: 1 }).prune(target, 0.5, ROW);
    assertFinite(r);
    t.diagnostic(`notes: ${JSON.stringify(r.notes)}`);
    assert.ok(Number(r.notes?.dampRaises) >= 1, JSON.stringify(r.notes));
    assert.ok(Number(r.notes?.percdamp) >= 0.1);
    assert.equal(r.mask.count(), 16);
  });

  it('every input dead: H = I, still prunes (to zeros) without NaN', () => {
    const n = 8;
    const target: PruneTarget = {
      name: 'dead.weight',
      rows: 2,
      cols: n,
      weight: Float32Array.from({ length: 2 * n }, (_, i) => i - 5),
      stats: { tokens: 3, sum: new Float64Array(n), sumSquares: new Float64Array(n), gram: new Float64Array(n * n) },
    };
    const r = new SparseGpt().prune(target, 0.5, ROW);
    assertFinite(r);
    assert.equal(r.notes?.deadInputs, n);
    assert.deepEqual([...r.weight], new Array(2 * n).fill(0));
  });

  it('rejects what it can not prune: no Gram matrix, NaN in it, block patterns, bad sparsity', () => {
    const layer = syntheticLayer(13, { rows: 4, cols: 8, tokens: 32 });
    const { stats } = layer.target;
    assert.throws(() => new SparseGpt().prune({ ...layer.target, stats: { ...stats!, gram: null } }, 0.5, ROW), /needs the inputs' Gram matrix/);
    for (const at of [9, 10]) {
      // (1, 1) on the diagonal, (1, 2) off it: both refused at once, without dampening retries.
      const nan = stats!.gram!.slice();
      nan[at] = NaN;
      assert.throws(() => new SparseGpt().prune({ ...layer.target, stats: { ...stats!, gram: nan } }, 0.5, ROW), /not finite|is NaN/);
    }
    assert.throws(() => new SparseGpt().prune(layer.target, 0.5, { kind: 'block', rows: 2, cols: 2 }), /not 2x2 blocks/);
    for (const s of [1, -0.5]) assert.throws(() => new SparseGpt().prune(layer.target, s, ROW), /sparsity must be in \[0, 1\)/);
    assert.throws(() => new SparseGpt({ sequences: 0 }), ArgumentError);
  });
});
