/** Uniform and ERK layer densities: exact budgets by parameter count, capping, RigL's kernel-aware ratio. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parameter } from '../../src/autograd/index.js';
import { ArgumentError } from '../../src/core/errors.js';
import { zeros } from '../../src/core/ops.js';
import { erkDensities } from '../../src/pruning/allocation/erk.js';
import { erkScore, layerDensities } from '../../src/training/densities.js';
import type { SparseLayer } from '../../src/training/types.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const linear = (name: string, out: number, inFeatures: number): SparseLayer => ({ name, param: parameter(zeros([out, inFeatures])), rows: out, cols: inFeatures });
const conv = (name: string, out: number, inChannels: number, kh: number, kw: number): SparseLayer => ({
  name,
  param: parameter(zeros([out, inChannels, kh, kw])),
  rows: out,
  cols: inChannels * kh * kw,
  kernel: [kh, kw],
});

/** Kept weights over all weights. */
function overallDensity(layers: readonly SparseLayer[], densities: Map<string, number>): number {
  const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
  return layers.reduce((s, l) => s + densities.get(l.name)! * l.rows * l.cols, 0) / total;
}

describe('layer densities', () => {
  // Built inside the tests: parameters need the backend that before() sets.
  let cnn: SparseLayer[] = [];
  before(() => {
    cnn = [conv('conv1', 16, 3, 3, 3), conv('conv2', 32, 16, 3, 3), conv('conv3', 64, 32, 5, 5), linear('head', 10, 1024)];
  });

  it('ERK keeps exactly 1 - sparsity of the weights, by parameter count', () => {
    for (const sparsity of [0.5, 0.8, 0.9, 0.99]) {
      const d = layerDensities(cnn, sparsity, 'erk');
      assert.ok(Math.abs(overallDensity(cnn, d) - (1 - sparsity)) < 1e-12, `${sparsity}: ${overallDensity(cnn, d)}`);
      for (const v of d.values()) assert.ok(v > 0 && v <= 1);
    }
  });

  it("gives conv layers RigL's (n_in + n_out + kh + kw) / (n_in n_out kh kw) ratio", () => {
    const d = layerDensities(cnn, 0.9, 'erk');
    assert.ok([...d.values()].every((v) => v < 1), 'no layer is capped at 90%');
    const raw = { conv2: (16 + 32 + 3 + 3) / (16 * 32 * 3 * 3), conv3: (32 + 64 + 5 + 5) / (32 * 64 * 5 * 5), head: (1024 + 10) / (1024 * 10) };
    assert.ok(Math.abs(d.get('conv2')! / d.get('conv3')! - raw.conv2 / raw.conv3) < 1e-9);
    assert.ok(Math.abs(d.get('conv2')! / d.get('head')! - raw.conv2 / raw.head) < 1e-9);
    assert.equal(erkScore(cnn[1]), raw.conv2);
    // The kernel matters: as a flat [32, 144] layer conv2 would score (32 + 144) / (32 * 144).
    const flat = layerDensities([linear('conv2', 32, 144), ...cnn.slice(2)], 0.9, 'erk');
    assert.ok(Math.abs(flat.get('conv2')! / flat.get('head')! - 176 / 4608 / raw.head) < 1e-9);
  });

  it('makes layers that would exceed density 1 dense and re-solves the rest to the same budget', () => {
    const layers = [conv('stem', 4, 1, 3, 3), linear('hidden', 512, 1024), linear('out', 100, 512)];
    const d = layerDensities(layers, 0.8, 'erk');
    assert.equal(d.get('stem'), 1);
    assert.ok(d.get('hidden')! < 1 && d.get('out')! < 1);
    assert.ok(Math.abs(overallDensity(layers, d) - 0.2) < 1e-12);
    // The uncapped layers keep the ER ratio between them.
    assert.ok(Math.abs(d.get('out')! / d.get('hidden')! - erkScore(layers[2]) / erkScore(layers[1])) < 1e-9);
    // At sparsity 0 everything is dense.
    assert.ok([...layerDensities(layers, 0, 'erk').values()].every((v) => v === 1));
  });

  it('matches the pruning allocator on Linear layers (ER unchanged) and keeps uniform uniform', () => {
    const layers = [linear('a', 64, 32), linear('b', 256, 64), linear('c', 10, 256)];
    const d = layerDensities(layers, 0.8, 'erk');
    const want = erkDensities(layers.map((l, block) => ({ name: l.name, rows: l.rows, cols: l.cols, block, weight: new Float32Array(0), stats: null })), 0.8);
    layers.forEach((l, i) => assert.ok(Math.abs(d.get(l.name)! - Math.min(1, want[i])) < 1e-12));
    assert.deepEqual([...layerDensities(cnn, 0.7, 'uniform').values()].map((v) => v.toFixed(12)), cnn.map(() => (0.3).toFixed(12)));
  });

  it('rejects a kernel that does not divide the columns', () => {
    const bad: SparseLayer = { ...linear('bad', 8, 10), kernel: [3, 3] };
    assert.throws(() => layerDensities([bad], 0.5, 'erk'), ArgumentError);
  });
});
