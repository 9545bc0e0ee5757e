/** The sparse layout of docs/sparse-checkpoint.md: tensor names, dtypes and shapes written, and reading them back. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { MemoryByteSource } from '../../src/io/byte-source.js';
import { encodeSafetensors, type SafetensorsTensorInput } from '../../src/io/safetensors-encode.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { tensor } from '../../src/core/ops.js';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import {
  decodeCheckpointLayout,
  describeSparseFormat,
  encodeWeight,
  encodeWeights,
  parseSparsekitMetadata,
  readSparseWeight,
  SPARSEKIT_METADATA_KEY,
} from '../../src/models/checkpoint-layout.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { cpuBackend } from '../helpers/cpu.js';
import { randomNmDense, randomSparse } from '../sparse/helpers.js';
import { assertSameWeight, roundTo } from './helpers.js';

let backend: CpuBackend;
before(async () => {
  backend = await cpuBackend();
});

const P = 'model.layers.0.mlp.up_proj.weight';

function shapes(tensors: SafetensorsTensorInput[]): [string, string, readonly number[]][] {
  return tensors.map((t) => [t.name, t.dtype, t.shape]);
}

async function readerOf(tensors: SafetensorsTensorInput[], metadata: Record<string, string>): Promise<SafetensorsReader> {
  return SafetensorsReader.open(new MemoryByteSource(encodeSafetensors(tensors, metadata), 'mem.safetensors'));
}

describe('checkpoint layout: writing', () => {
  it('stores CSR as row_ptr I32, col_indices U16 (cols <= 65536), values F32', async () => {
    const csr = CsrMatrix.fromDense(randomSparse(6, 10, 0.4, 1), 6, 10, backend);
    const { tensors, sparse } = await encodeWeight(P, csr, { csrEncoding: 'csr' });
    assert.deepEqual(shapes(tensors), [
      [`${P}.csr.row_ptr`, 'I32', [7]],
      [`${P}.csr.col_indices`, 'U16', [csr.nnz]],
      [`${P}.csr.values`, 'F32', [csr.nnz]],
    ]);
    assert.deepEqual(sparse, { format: 'csr', shape: [6, 10] });
    csr.dispose();
  });

  it('stores CSR as a bitmap (one bit per weight, U8 [rows, ceil(cols/8)]) when that is smaller, CSR parts otherwise', async () => {
    // 40% of 6 x 10: the mask takes 12 bytes against 28 of row pointers and 2 per index.
    const half = CsrMatrix.fromDense(randomSparse(6, 10, 0.4, 1), 6, 10, backend);
    const encoded = await encodeWeight(P, half, { valuesDType: 'F16' });
    assert.deepEqual(shapes(encoded.tensors), [
      [`${P}.bitmap.mask`, 'U8', [6, 2]],
      [`${P}.bitmap.values`, 'F16', [half.nnz]],
    ]);
    assert.deepEqual(encoded.sparse, { format: 'bitmap', shape: [6, 10] });
    const dense = half.toDenseSync();
    const mask = encoded.tensors[0].data as Uint8Array;
    for (let r = 0; r < 6; r++) {
      for (let c = 0; c < 10; c++) assert.equal((mask[r * 2 + (c >> 3)] >> (c & 7)) & 1, dense[r * 10 + c] !== 0 ? 1 : 0, `bit of (${r}, ${c})`);
    }
    // 1 weight in 64 of 4 x 1024: 4 x 128 mask bytes against 20 + 2 x 64.
    const sparse = CsrMatrix.fromDense(randomSparse(4, 1024, 1 / 64, 2), 4, 1024, backend);
    assert.equal((await encodeWeight(P, sparse)).sparse?.format, 'csr');
    assert.equal((await encodeWeight(P, sparse, { csrEncoding: 'bitmap' })).sparse?.format, 'bitmap');
    half.dispose();
    sparse.dispose();
  });

  it('stores N:M as values [rows, cols/m*n] and packed U8 indices, BSR as block parts with column-major values', async () => {
    const nm = NmMatrix.fromDense(randomNmDense(3, 16, 2, 4, 2), 3, 16, 2, 4, backend);
    const encodedNm = await encodeWeight(P, nm, { valuesDType: 'BF16' });
    assert.deepEqual(shapes(encodedNm.tensors), [
      [`${P}.nm.values`, 'BF16', [3, 8]],
      [`${P}.nm.indices`, 'U8', [3, 2]],
    ]);
    assert.deepEqual(encodedNm.sparse, { format: 'nm', shape: [3, 16], n: 2, m: 4 });
    const bsr = BsrMatrix.fromDense(randomSparse(8, 12, 0.3, 3), 8, 12, 4, 6, backend);
    const encodedBsr = await encodeWeight(P, bsr, { valuesDType: 'F16' });
    assert.deepEqual(shapes(encodedBsr.tensors), [
      [`${P}.bsr.block_row_ptr`, 'I32', [3]],
      [`${P}.bsr.block_col_indices`, 'I32', [bsr.nnzBlocks]],
      [`${P}.bsr.values`, 'F16', [bsr.nnzBlocks, 6, 4]],
    ]);
    assert.deepEqual(encodedBsr.sparse, { format: 'bsr', shape: [8, 12], block: [4, 6] });
    assert.equal(describeSparseFormat(encodedNm.sparse!), 'nm 2:4');
    assert.equal(describeSparseFormat(encodedBsr.sparse!), 'bsr 4x6');
    nm.dispose();
    bsr.dispose();
  });

  it('writes one "sparsekit" metadata entry naming each sparse weight, and a dense tensor as itself', async () => {
    const csr = CsrMatrix.fromDense(randomSparse(4, 4, 0.5, 4), 4, 4, backend);
    const dense = tensor(new Float32Array([1, 2, 3]), [3], 'f32', backend);
    const { tensors, metadata } = await encodeWeights([
      ['a.weight', csr],
      ['norm.weight', dense],
    ]);
    assert.deepEqual(Object.keys(metadata).sort(), ['format', SPARSEKIT_METADATA_KEY]);
    assert.deepEqual(JSON.parse(metadata[SPARSEKIT_METADATA_KEY]), { version: 1, tensors: { 'a.weight': { format: 'bitmap', shape: [4, 4] } } });
    assert.deepEqual(tensors.map((t) => t.name), ['a.weight.bitmap.mask', 'a.weight.bitmap.values', 'norm.weight']);
    const denseOnly = await encodeWeights([['norm.weight', dense]]);
    assert.deepEqual(denseOnly.metadata, { format: 'pt' });
    const stored = await encodeWeight('a.weight', csr, { storeDense: true });
    assert.deepEqual(shapes(stored.tensors), [['a.weight', 'F32', [4, 4]]]);
    assert.deepEqual(stored.tensors[0].data, csr.toDenseSync());
    assert.equal(stored.sparse, null);
    csr.dispose();
    dense.dispose();
  });
});

describe('checkpoint layout: reading', () => {
  it('finds sparse weights and rebuilds each format, values of any float dtype decoded to f32', async () => {
    // w.csr is about half zeros: CSR when asked for, a BitmapMatrix by default (<= 60% sparse).
    const weights = [
      ['w.csr', CsrMatrix.fromDense(randomSparse(5, 9, 0.5, 5), 5, 9, backend)],
      ['w.nm', NmMatrix.fromDense(randomNmDense(4, 8, 1, 4, 6), 4, 8, 1, 4, backend)],
      ['w.bsr', BsrMatrix.fromDense(randomSparse(4, 8, 0.4, 7), 4, 8, 2, 4, backend)],
    ] as const;
    for (const [dtype, csrEncoding] of [['F32', 'csr'], ['F16', 'bitmap'], ['BF16', 'csr'], ['F32', 'bitmap']] as const) {
      const { tensors, metadata } = await encodeWeights(weights, { valuesDType: dtype, csrEncoding });
      assert.ok(tensors.some((t) => t.name === `w.csr.${csrEncoding}.values`));
      const reader = await readerOf([...tensors, { name: 'plain', dtype: 'F32', shape: [2], data: new Float32Array(2) }], metadata);
      const layout = decodeCheckpointLayout(reader.tensors(), reader.metadata, reader.fileName);
      assert.deepEqual([...layout.sparse.keys()].sort(), ['w.bsr', 'w.csr', 'w.nm']);
      assert.deepEqual(layout.dense.map((t) => t.name), ['plain']);
      for (const [name, original] of weights) {
        const entry = layout.sparse.get(name)!;
        assert.equal(entry.valuesDType, dtype);
        const loaded = await readSparseWeight(reader, entry, backend, { unstructuredFormat: 'csr' });
        assertSameWeight(loaded, original, name, dtype);
        loaded.dispose();
        // The unstructured format applies to CSR and bitmap weights only.
        const asBitmap = await readSparseWeight(reader, entry, backend, { unstructuredFormat: 'bitmap' });
        assertSameWeight(asBitmap, original, name, dtype, 'bitmap');
        asBitmap.dispose();
      }
      const original = weights[0][1];
      assert.ok(original.sparsity() <= 0.6, `w.csr sparsity ${original.sparsity()}`);
      const auto = await readSparseWeight(reader, layout.sparse.get('w.csr')!, backend);
      assert.ok(auto instanceof BitmapMatrix, `w.csr (${csrEncoding} on disk) loaded as ${String(auto)}`);
      assertSameWeight(auto, original, 'w.csr', dtype, 'bitmap');
      assert.deepEqual(auto.toDenseSync(), roundTo(dtype, original.toDenseSync()));
      auto.dispose();
    }
    for (const [, w] of weights) w.dispose();
  });

  it('reads I32 column indices too, and reports parts no metadata describes', async () => {
    const csr = CsrMatrix.fromDense(randomSparse(3, 5, 0.5, 8), 3, 5, backend);
    const { tensors, metadata } = await encodeWeights([['w', csr]], { csrEncoding: 'csr' });
    const asI32 = tensors.map((t) => (t.name.endsWith('col_indices') ? { ...t, dtype: 'I32' as const, data: Int32Array.from(t.data as Uint16Array) } : t));
    const reader = await readerOf(asI32, metadata);
    const layout = decodeCheckpointLayout(reader.tensors(), reader.metadata, 'f');
    const loaded = await readSparseWeight(reader, layout.sparse.get('w')!, backend, { unstructuredFormat: 'csr' });
    assertSameWeight(loaded, csr, 'w');
    const auto = await readSparseWeight(reader, layout.sparse.get('w')!, backend);
    assert.ok(auto instanceof BitmapMatrix);
    assertSameWeight(auto, csr, 'w', 'F32', 'bitmap');
    auto.dispose();
    const orphan = decodeCheckpointLayout(reader.tensors(), {}, 'f');
    assert.equal(orphan.sparse.size, 0);
    assert.deepEqual([...orphan.orphanParts].sort(), ['w.csr.col_indices', 'w.csr.row_ptr', 'w.csr.values']);
    loaded.dispose();
    csr.dispose();
  });

  it('rejects malformed metadata, naming the file and the weight', () => {
    const meta = (value: unknown) => ({ [SPARSEKIT_METADATA_KEY]: typeof value === 'string' ? value : JSON.stringify(value) });
    assert.throws(() => parseSparsekitMetadata(meta('{'), 'f.safetensors'), /^ModelError: f\.safetensors: metadata "sparsekit": not valid JSON/);
    assert.throws(() => parseSparsekitMetadata(meta({ version: 2, tensors: {} }), 'f'), /layout version 2 is not supported.*newer sparsekit/);
    assert.throws(() => parseSparsekitMetadata(meta({ version: 1 }), 'f'), /no "tensors" object/);
    assert.throws(() => parseSparsekitMetadata(meta({ version: 1, tensors: { w: { format: 'coo', shape: [2, 2] } } }), 'f'), /tensor "w": unknown format "coo"/);
    assert.throws(() => parseSparsekitMetadata(meta({ version: 1, tensors: { w: { format: 'nm', shape: [2, 8], n: 4, m: 4 } } }), 'f'), /1 <= n < m/);
    assert.throws(() => parseSparsekitMetadata(meta({ version: 1, tensors: { w: { format: 'bsr', shape: [6, 8], block: [4, 4] } } }), 'f'), /does not divide into 4 x 4 blocks/);
    assert.throws(() => parseSparsekitMetadata(meta({ version: 1, tensors: { w: { format: 'csr', shape: [2] } } }), 'f'), /"shape" must be \[rows, cols\]/);
    assert.equal(parseSparsekitMetadata({ format: 'pt' }, 'f'), null);
  });

  it('rejects missing parts and parts of the wrong dtype or shape', async () => {
    const csr = CsrMatrix.fromDense(randomSparse(3, 5, 0.5, 9), 3, 5, backend);
    const { tensors, metadata } = await encodeWeights([['w', csr]], { csrEncoding: 'csr' });
    const infos = (await readerOf(tensors, metadata)).tensors();
    const without = infos.filter((t) => !t.name.endsWith('row_ptr'));
    assert.throws(() => decodeCheckpointLayout(without, metadata, 'f'), /f: csr weight "w" \[3, 5\]: part "w\.csr\.row_ptr" is missing/);
    const wrongDtype = infos.map((t) => (t.name.endsWith('row_ptr') ? { ...t, dtype: 'I64' as const } : t));
    assert.throws(() => decodeCheckpointLayout(wrongDtype, metadata, 'f'), /tensor "w\.csr\.row_ptr": dtype I64; the csr layout stores it as I32/);
    const wrongShape = infos.map((t) => (t.name.endsWith('row_ptr') ? { ...t, shape: [5] } : t));
    assert.throws(() => decodeCheckpointLayout(wrongShape, metadata, 'f'), /tensor "w\.csr\.row_ptr": shape \[5\], expected \[4\]/);
    const both = [...infos, { name: 'w', dtype: 'F32' as const, shape: [3, 5], dataOffsets: [0, 0] as [number, number] }];
    assert.throws(() => decodeCheckpointLayout(both, metadata, 'f'), /stored both as a plain tensor and/);
    csr.dispose();
  });

  it('rejects NaN among sparse values and invalid structure, naming the weight', async () => {
    const csr = CsrMatrix.fromDense(new Float32Array([1, 0, 2, 0, 0, 3]), 2, 3, backend);
    const { tensors, metadata } = await encodeWeights([['w', csr]], { csrEncoding: 'csr' });
    const nan = tensors.map((t) => (t.name.endsWith('values') ? { ...t, data: new Float32Array([1, NaN, 3]) } : t));
    let reader = await readerOf(nan, metadata);
    await assert.rejects(readSparseWeight(reader, decodeCheckpointLayout(reader.tensors(), metadata, 'f').sparse.get('w')!, backend), /tensor "w\.csr\.values": element 1 is NaN/);
    const unsorted = tensors.map((t) => (t.name.endsWith('col_indices') ? { ...t, data: new Uint16Array([2, 0, 2]) } : t));
    reader = await readerOf(unsorted, metadata);
    await assert.rejects(readSparseWeight(reader, decodeCheckpointLayout(reader.tensors(), metadata, 'f').sparse.get('w')!, backend), /csr weight "w": invalid parts: .*strictly increase/);

    const bitmap = await encodeWeights([['w', csr]], { csrEncoding: 'bitmap' });
    const read = async (change: (t: SafetensorsTensorInput) => SafetensorsTensorInput, unstructuredFormat?: 'csr' | 'bitmap') => {
      const r = await readerOf(bitmap.tensors.map(change), bitmap.metadata);
      return readSparseWeight(r, decodeCheckpointLayout(r.tensors(), bitmap.metadata, 'f').sparse.get('w')!, backend, { unstructuredFormat });
    };
    const mask = (bytes: number[]) => (t: SafetensorsTensorInput) => (t.name.endsWith('mask') ? { ...t, data: new Uint8Array(bytes) } : t);
    // Row 0 keeps columns 0 and 2 (0b101), row 1 column 2 (0b100); bit 3 is past the 3 columns.
    assert.deepEqual(Array.from(bitmap.tensors[0].data as Uint8Array), [0b101, 0b100]);
    for (const as of ['csr', 'bitmap'] as const) {
      await assert.rejects(read(mask([0b1101, 0b100]), as), /bitmap weight "w": invalid parts: mask: row 0 marks columns at or past 3/);
      await assert.rejects(read(mask([0b111, 0b100]), as), /the mask marks 4 weights but there are 3 values/);
    }
    await assert.rejects(read((t) => (t.name.endsWith('values') ? { ...t, data: new Float32Array([1, Infinity, 3]) } : t)), /tensor "w\.bitmap\.values": element 1 is/);
    const loaded = await read((t) => t, 'csr');
    assertSameWeight(loaded, csr, 'w');
    loaded.dispose();
    // Half the weights kept: a BitmapMatrix by default, holding the stored mask as it is.
    const auto = await read((t) => t);
    assert.ok(auto instanceof BitmapMatrix);
    assert.deepEqual(auto.readArraysSync().mask, new Uint8Array([0b101, 0b100]));
    assert.deepEqual(auto.readArraysSync().values, new Float32Array([1, 2, 3]));
    auto.dispose();
    csr.dispose();
  });

  it('loads unstructured weights as a BitmapMatrix up to 60% sparsity and a CsrMatrix above, from either encoding on disk', async () => {
    // 8 x 20 weights keeping every 2nd (50%) or every 10th (90%).
    const rows = 8;
    const cols = 20;
    const keepingEvery = (k: number, seed: number) => randomSparse(rows, cols, 1, seed).map((v, i) => (i % k === 0 ? v : 0));
    // 64 of 160 kept (60%: the last sparsity a bitmap holds), 65 kept (59.4% sparse) and 63 kept
    // (60.6%) on either side of the boundary, and 48 kept (70%).
    const keepingFirst = (n: number, seed: number) => randomSparse(rows, cols, 1, seed).map((v, i) => (i < n ? v : 0));
    const cases = [
      ['50%', keepingEvery(2, 11), BitmapMatrix],
      ['59.4%', keepingFirst(65, 12), BitmapMatrix],
      ['60%', keepingFirst(64, 13), BitmapMatrix],
      ['60.6%', keepingFirst(63, 14), CsrMatrix],
      ['70%', keepingFirst(48, 16), CsrMatrix],
      ['90%', keepingEvery(10, 15), CsrMatrix],
    ] as const;
    for (const [label, dense, expected] of cases) {
      const csr = CsrMatrix.fromDense(dense, rows, cols, backend);
      for (const csrEncoding of ['csr', 'bitmap'] as const) {
        const { tensors, metadata } = await encodeWeights([['w', csr]], { csrEncoding });
        const reader = await readerOf(tensors, metadata);
        const entry = decodeCheckpointLayout(reader.tensors(), reader.metadata, 'f').sparse.get('w')!;
        assert.equal(entry.description.format, csrEncoding);
        const what = `${label} sparse, ${csrEncoding} on disk`;
        const auto = await readSparseWeight(reader, entry, backend);
        assert.ok(auto instanceof expected, `${what}: loaded as ${String(auto)}, expected a ${expected.name}`);
        assert.deepEqual(auto.toDenseSync(), dense, what);
        assertSameWeight(auto, csr, what, 'F32', expected === BitmapMatrix ? 'bitmap' : 'csr');
        auto.dispose();
        // An explicit choice overrides the sparsity.
        for (const [choice, cls] of [['csr', CsrMatrix], ['bitmap', BitmapMatrix], ['auto', expected]] as const) {
          const chosen = await readSparseWeight(reader, entry, backend, { unstructuredFormat: choice });
          assert.ok(chosen instanceof cls, `${what}, ${choice}: loaded as ${String(chosen)}`);
          assert.deepEqual(chosen.toDenseSync(), dense, `${what}, ${choice}`);
          chosen.dispose();
        }
      }
      csr.dispose();
    }
  });

  it('round-trips a BitmapMatrix as mask and values: exactly with F32 values, within F16 and BF16 rounding', async () => {
    // Every 2nd weight kept (50% sparse) and every 10th (90%: loads as CSR unless asked for a bitmap); 13 columns leave padding bits in each row's last byte.
    for (const [every, density] of [[2, 0.5], [10, 0.1]] as const) {
      const dense = randomSparse(6, 13, 1, 21).map((v, i) => (i % every === 0 ? v : 0));
      const bitmap = BitmapMatrix.fromDense(dense, 6, 13, backend);
      const original = bitmap.readArraysSync();
      for (const dtype of ['F32', 'F16', 'BF16'] as const) {
        const { tensors, metadata } = await encodeWeights([['w', bitmap]], { valuesDType: dtype });
        assert.deepEqual(shapes(tensors), [
          ['w.bitmap.mask', 'U8', [6, 2]],
          ['w.bitmap.values', dtype, [bitmap.nnz]],
        ]);
        assert.deepEqual(JSON.parse(metadata[SPARSEKIT_METADATA_KEY]).tensors.w, { format: 'bitmap', shape: [6, 13] });
        const reader = await readerOf(tensors, metadata);
        const entry = decodeCheckpointLayout(reader.tensors(), reader.metadata, 'f').sparse.get('w')!;
        const loaded = await readSparseWeight(reader, entry, backend, { unstructuredFormat: 'bitmap' });
        assert.ok(loaded instanceof BitmapMatrix);
        const got = loaded.readArraysSync();
        assert.deepEqual(got.mask, original.mask, `mask (${dtype})`);
        assert.deepEqual(got.rowPtr, original.rowPtr, `rowPtr (${dtype})`);
        assert.deepEqual(got.values, roundTo(dtype, original.values), `values (${dtype})`);
        if (dtype === 'F32') assert.deepEqual(loaded.toDenseSync(), dense);
        else assert.notDeepEqual(got.values, original.values, `${dtype} rounds some of the random values`);
        loaded.dispose();
        const auto = await readSparseWeight(reader, entry, backend);
        assert.ok(density === 0.5 ? auto instanceof BitmapMatrix : auto instanceof CsrMatrix, `${String(auto)} at density ${density}`);
        assertSameWeight(auto, bitmap, `w at density ${density}`, dtype, density === 0.5 ? 'bitmap' : 'csr');
        auto.dispose();
      }
      bitmap.dispose();
    }
  });

  it('rejects an unknown unstructured format, naming the valid ones', async () => {
    const csr = CsrMatrix.fromDense(randomSparse(3, 5, 0.5, 9), 3, 5, backend);
    const { tensors, metadata } = await encodeWeights([['w', csr]]);
    const reader = await readerOf(tensors, metadata);
    const entry = decodeCheckpointLayout(reader.tensors(), reader.metadata, 'f').sparse.get('w')!;
    await assert.rejects(readSparseWeight(reader, entry, backend, { unstructuredFormat: 'coo' as never }), /unstructured format must be one of auto, csr, bitmap, got coo/);
    csr.dispose();
  });
});
