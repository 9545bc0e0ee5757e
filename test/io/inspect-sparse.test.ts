/** `inspect` on folders with sparse weights: one row per sparse weight (format, logical shape, sparsity, bytes of its parts). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { tensor } from '../../src/core/ops.js';
import { inspectSafetensors } from '../../src/io/node/inspect.js';
import { writeSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import { renderInspectReport } from '../../src/cli/inspect.js';
import { encodeWeights } from '../../src/models/checkpoint-layout.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { cpuBackend } from '../helpers/cpu.js';
import { makeTempDir } from './helpers.js';

let backend: CpuBackend;
let dir: string;
let remove: () => Promise<void>;
before(async () => {
  backend = await cpuBackend();
  ({ dir, remove } = await makeTempDir('inspect-sparse'));
});
after(() => remove());

describe('inspect with sparse weights', () => {
  it('reports each sparse weight as one row, dense tensors as before, and totals over both', async () => {
    // 4 x 8 with 8 nonzeros (75% sparse), 2:4 of 4 x 8 with one explicit zero kept (padding), BSR 4 x 8 with one 2 x 4 block.
    const csrDense = new Float32Array(32);
    for (let i = 0; i < 32; i += 4) csrDense[i] = i + 1;
    const csr = CsrMatrix.fromDense(csrDense, 4, 8, backend);
    const nmDense = new Float32Array(32);
    for (let g = 0; g < 8; g++) {
      nmDense[g * 4] = g + 1;
      if (g > 0) nmDense[g * 4 + 3] = -(g + 1);
    }
    const nm = NmMatrix.fromDense(nmDense, 4, 8, 2, 4, backend);
    const bsrDense = new Float32Array(32);
    bsrDense.fill(1, 0, 4);
    bsrDense.fill(2, 8, 12);
    const bsr = BsrMatrix.fromDense(bsrDense, 4, 8, 2, 4, backend);
    const norm = tensor(new Float32Array([1, 0, 1, 1]), [4], 'f32', backend);
    const { tensors, metadata } = await encodeWeights(
      [
        ['a.csr', csr],
        ['b.nm', nm],
        ['c.bsr', bsr],
        ['norm', norm],
      ],
      { valuesDType: 'F16', csrEncoding: 'csr' },
    );
    const path = join(dir, 'model.safetensors');
    await writeSafetensorsFile(path, tensors, metadata);

    const report = await inspectSafetensors(path);
    const rows = Object.fromEntries(report.tensors.map((t) => [t.name, t]));
    assert.deepEqual(Object.keys(rows).sort(), ['a.csr', 'b.nm', 'c.bsr', 'norm']);
    const csrBytes = 5 * 4 + 8 * 2 + 8 * 2;
    assert.deepEqual(
      { ...rows['a.csr'], parts: rows['a.csr'].parts!.map((p) => p.name) },
      {
        name: 'a.csr',
        file: 'model.safetensors',
        format: 'csr',
        dtype: 'F16',
        shape: [4, 8],
        elements: 32,
        bytes: csrBytes,
        zeros: 24,
        sparsity: 0.75,
        parts: ['a.csr.csr.row_ptr', 'a.csr.csr.col_indices', 'a.csr.csr.values'],
      },
    );
    assert.equal(rows['b.nm'].format, 'nm 2:4');
    assert.equal(rows['b.nm'].zeros, 32 - 15);
    assert.equal(rows['b.nm'].bytes, 4 * 4 * 2 + 4 * 1);
    assert.equal(rows['c.bsr'].format, 'bsr 2x4');
    assert.equal(rows['c.bsr'].zeros, 24);
    assert.equal(rows['c.bsr'].bytes, 3 * 4 + 1 * 4 + 8 * 2);
    assert.deepEqual([rows.norm.format, rows.norm.dtype, rows.norm.zeros, rows.norm.bytes], ['dense', 'F16', 1, 8]);
    assert.equal(report.totals.tensors, 4);
    assert.equal(report.totals.sparseWeights, 3);
    assert.equal(report.totals.elements, 3 * 32 + 4);
    assert.equal(report.totals.zeros, 24 + 17 + 24 + 1);
    assert.equal(report.totals.bytes, tensors.reduce((s, t) => s + (t.data.byteLength === 0 ? 0 : t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F16' || t.dtype === 'U16' ? 2 : t.dtype === 'U8' ? 1 : 4)), 0));
    assert.deepEqual(report.warnings, []);

    const text = renderInspectReport(report);
    assert.match(text, /a\.csr\s.*csr\s.*F16\s.*\[4, 8\]\s.*75\.0%/);
    assert.match(text, /b\.nm\s.*nm 2:4/);
    assert.match(text, /c\.bsr\s.*bsr 2x4/);
    assert.match(text, /4 tensors \(3 sparse\)/);
    assert.doesNotMatch(text, /row_ptr/);
    for (const w of [csr, nm, bsr, norm]) w.dispose();
  });

  it('shows the parts as plain tensors, with a warning, when the metadata cannot be read', async () => {
    const csr = CsrMatrix.fromDense(new Float32Array([1, 0, 0, 2]), 2, 2, backend);
    const { tensors } = await encodeWeights([['w', csr]], { csrEncoding: 'csr' });
    const path = join(dir, 'broken.safetensors');
    await writeSafetensorsFile(path, tensors, { sparsekit: '{"version": 9, "tensors": {}}' });
    const report = await inspectSafetensors(path);
    assert.deepEqual(report.tensors.map((t) => [t.name, t.format]).sort(), [
      ['w.csr.col_indices', 'dense'],
      ['w.csr.row_ptr', 'dense'],
      ['w.csr.values', 'dense'],
    ]);
    assert.equal(report.warnings.length, 1);
    assert.match(report.warnings[0], /broken\.safetensors: metadata "sparsekit": layout version 9/);
    csr.dispose();
  });
});
